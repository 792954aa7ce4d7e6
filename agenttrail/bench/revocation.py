"""How fast a leaked token stops working: offending event -> status endpoint, and -> SDK guard.

The deployment shape, not a shortcut: ``agenttrail serve`` runs as its own process
(materializer, policy engine, outbox, HTTP API) on the bench's embedded broker, and
this process is the agent, with the SDK and its revocation guard. The demo's rule
set (``token-from-new-region``: a token used from a region it never came from is
revoked with its tree) is loaded as a control event, ``trials`` tokens are issued
from eu-west-1, and then, one trial at a time, a token is used from ap-south-1.

Each trial's clock starts just before that action block opens (so it includes the
SDK's own emit and linger) and stops twice: when ``GET /v1/tokens/{fingerprint}``
first answers ``active: false``, and when the guard first refuses the fingerprint.
The watch loop checks the guard every millisecond and asks the status endpoint at
most every 10 ms (as a client would, without taking the server's CPU from the
materializer), so the status time is resolved to 10 ms plus one request. After both,
the token is used once more and must be refused.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from agenttrail._exceptions import TokenRevokedError
from agenttrail.bench.report import BenchError, percentile
from agenttrail.bench.served import START_TIMEOUT_S, served, waited
from agenttrail.config import ENV_PREFIX, Settings
from agenttrail.leak import load_leaked_token_rules
from agenttrail.producers.trail import Trail, connect

ISSUER = "https://idp.bench.example"
HOME, ABROAD = "eu-west-1", "ap-south-1"
RULE_SET = "bench-leaked-token"
STATUS_EVERY_S = 0.01  # as a polling client would; each request costs the server CPU the materializer also needs
WATCH_SLEEP_S = 0.001
TRIAL_TIMEOUT_S = 10.0  # a trial slower than this counts as missed, not as a 10 s measurement


def measure_revocation(settings: Settings, bootstrap: str, work: Path, *, trials: int,
                       on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Latency percentiles over ``trials`` leaked tokens; raises BenchError if the server never comes up."""
    work.mkdir(parents=True, exist_ok=True)
    admin = secrets.token_urlsafe(24)
    with served(settings, bootstrap, work, name="revocation", env={f"{ENV_PREFIX}API_TOKEN": admin}) as server, \
            httpx.Client(base_url=server.url, timeout=5.0) as client:
        trail = connect(tenant="bench", agent_id="bench-holder", agent_version="1.0.0", region=HOME,
                        principal="service:bench", settings=settings)
        try:
            tokens = _prepare(trail, settings, bootstrap, client, trials)
            abroad = trail.for_agent(tenant="bench", agent_id="bench-holder", agent_version="1.0.0", region=ABROAD,
                                     principal="service:bench")
            results = []
            for raw, fingerprint in tokens:
                results.append(_trial(abroad, client, raw, fingerprint))
                if on_progress is not None:
                    on_progress(1)
        finally:
            trail.close()
    status = [r["status_s"] for r in results if r["status_s"] is not None]
    guard = [r["guard_s"] for r in results if r["guard_s"] is not None]
    polls = [r["poll_ms"] for r in results if r["poll_ms"] is not None]
    return {
        "trials": trials,
        "status": _percentiles(status, trials),
        "guard": _percentiles(guard, trials),
        "refused": sum(r["refused"] for r in results),
        "poll_ms_p50": round(percentile(polls, 0.5), 2),
        "status_every_ms": STATUS_EVERY_S * 1000,
        "trial_timeout_s": TRIAL_TIMEOUT_S,
    }


def _percentiles(seconds: list[float], trials: int) -> dict[str, Any]:
    ms = [s * 1000 for s in seconds]
    return {"measured": len(ms), "missed": trials - len(ms),
            **{f"p{q}_ms": round(percentile(ms, q / 100), 1) for q in (50, 95, 99)},
            "max_ms": round(max(ms), 1) if ms else 0.0}


def _prepare(trail: Trail, settings: Settings, bootstrap: str, client: httpx.Client,
             trials: int) -> list[tuple[str, str]]:
    """Load the rule set, issue the tokens at home, and wait until the server knows them all."""
    load_leaked_token_rules(settings, bootstrap, name=RULE_SET, via="bench", reason="revocation latency benchmark")
    tokens = []
    for n in range(trials):
        raw = f"at_bench_{n:04d}_{secrets.token_hex(12)}"
        with trail.action("token.issue", "issue_token", resource=("principal", "bench-holder")) as act:
            tokens.append((raw, act.use_token(raw, issuer=ISSUER)))
    trail.flush()
    waited(lambda: _known(client, tokens[-1][1]) and _policy_in_force(client), "the issued tokens and the rule set")
    if trail.guard is None:
        raise BenchError("The revocation stage measures the SDK guard, which AGENTTRAIL_GUARD turns off; unset it.")
    if not trail.guard.wait_caught_up(START_TIMEOUT_S):
        raise BenchError("The SDK guard did not catch up with the revocations topic; is the broker answering?")
    return tokens


def _trial(abroad: Trail, client: httpx.Client, raw: str, fingerprint: str) -> dict[str, Any]:
    guard = abroad.guard
    assert guard is not None  # _prepare made sure
    started = time.time()
    with abroad.action("api.call", "list_buckets") as act:
        act.use_token(raw, issuer=ISSUER)
    status_s = guard_s = None
    polls: list[float] = []
    asked_at = 0.0
    while time.time() - started < TRIAL_TIMEOUT_S and (status_s is None or guard_s is None):
        if guard_s is None and guard.revoked(fingerprint) is not None:
            guard_s = time.time() - started
        if status_s is None and time.time() - asked_at >= STATUS_EVERY_S:
            asked_at = time.time()
            active = client.get(f"/v1/tokens/{fingerprint}").json()["active"]
            polls.append((time.time() - asked_at) * 1000)
            if not active:
                status_s = time.time() - started
        time.sleep(WATCH_SLEEP_S)
    refused = False
    try:
        with abroad.action("api.call", "list_buckets") as act:
            act.use_token(raw, issuer=ISSUER)
    except TokenRevokedError:
        refused = True
    return {"status_s": status_s, "guard_s": guard_s, "refused": refused,
            "poll_ms": percentile(polls, 0.5) if polls else None}


def _known(client: httpx.Client, fingerprint: str) -> bool:
    return bool(client.get(f"/v1/tokens/{fingerprint}", params={"lineage": "true"}).json()["known"])


def _policy_in_force(client: httpx.Client) -> bool:
    sets = client.get("/v1/queries/policy_sets", params={"tenant": "*"}).json()
    return any(row["name"] == RULE_SET and row["status"] == "in_force" for row in sets)
