"""(m) From a leaked token to its blast radius: how fast a report revokes a whole tree, and how fast the report is.

Cascade: the deployment shape of stage (j). ``agenttrail serve`` runs as its own process
with a GitHub key list holding a P-256 key made here, and this process is the agent: for
each trial it mints a tree of 1, 10 or 1,000 descendants of a new root token through the
SDK (three children per token, breadth first), waits until the server knows the last of
them, then signs a report of the root token as GitHub's secret scanning does and POSTs it
to ``/v1/leaks/github``. The clock starts just before the POST and stops when ``GET
/v1/tokens/{fp}`` first answers revoked for the token whose notice the server applies
last (a report's cascade commits in one batch, and its notices are applied in fingerprint
order), asked every 10 ms; then every token of the tree must answer revoked (not timed).

Blast radius: stage (d)'s store (``agenttrail.bench.query.load_events``), whose
``token.use`` events are given each agent's token, one binary tree of ten tokens per
tenant (``bench_blast_lineage.sql``), with every agent under an ``agent:*`` daily budget
and every tenant under a monthly one. The lineage is materialized with the projection's
own SQL, then the first tenant's root token's report (``blast_radius(...).to_dict()``,
what the HTTP endpoint answers) is timed, now and as of the middle of the stored week.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from statistics import median
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from agenttrail import sql
from agenttrail.bench.events import agent_ids
from agenttrail.bench.query import load_events
from agenttrail.bench.report import QUERY_AGENTS, BenchError, percentile
from agenttrail.bench.revocation import STATUS_EVERY_S, TRIAL_TIMEOUT_S, WATCH_SLEEP_S
from agenttrail.bench.served import served, waited
from agenttrail.blast_radius import blast_radius
from agenttrail.config import ENV_PREFIX, Settings
from agenttrail.consumers.store import open_store
from agenttrail.consumers.store import sql as store_sql
from agenttrail.producers.trail import Trail, connect

TREE_SIZES = (1, 10, 1000)  # descendants of the leaked token
CHILDREN = 3
BLAST_RUNS = 10
SENSITIVE = ("subscription.activate", "domain.register", "token.issue", "deploy.release", "payment", "purchase")


def measure_leak_cascade(settings: Settings, bootstrap: str, work: Path, *, trials: int,
                         on_progress: Callable[[int], None] | None = None,
                         sizes: tuple[int, ...] = TREE_SIZES) -> dict[str, Any]:
    """Per tree size (descendants), the report -> whole tree revoked latencies over ``trials`` leaked trees."""
    work.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    key_id = _key_list(key, work / "github-keys.json")
    env = {f"{ENV_PREFIX}API_TOKEN": secrets.token_urlsafe(24),
           f"{ENV_PREFIX}LEAK_KEYS_FILE": str(work / "github-keys.json")}
    with served(settings, bootstrap, work, name="leaks", env=env) as server, \
            httpx.Client(base_url=server.url, timeout=10.0) as client:
        trail = connect(tenant="bench", agent_id="bench-holder", agent_version="1.0.0", region="eu-west-1",
                        principal="service:bench", settings=settings)
        try:
            results: dict[str, Any] = {}
            for size in sizes:
                timings, answers = [], []
                for _ in range(trials):
                    tree = _mint(trail, size)
                    waited(lambda tree=tree: _known(client, tree[-1][1]), "the minted tree")  # type: ignore[misc]
                    revoked_s, answer_s = _trial(client, key, key_id, tree)
                    timings.append(revoked_s)
                    answers.append(answer_s)
                    if on_progress is not None:
                        on_progress(1)
                results[str(size)] = _summary(timings, answers)
        finally:
            trail.close()
    return {"trials": trials, "trees": results, "status_every_ms": STATUS_EVERY_S * 1000}


def measure_blast_radius(db: Path, *, events: int, runs: int = BLAST_RUNS) -> dict[str, Any]:
    """The blast radius report's time over a store of ``events`` (stage (d)'s), now and as of a past moment."""
    if db.exists():
        raise FileExistsError(f"{db} exists; the blast radius benchmark needs a new file")
    agents = agent_ids(QUERY_AGENTS)
    con = open_store(db)
    try:
        load_s = load_events(con, events, agents)
        t0 = time.perf_counter()
        con.execute(sql.text("bench_blast_lineage"), {"agents": [a[0] for a in agents]})
        con.execute(sql.text("bench_blast_budgets"))
        con.execute("CREATE TEMP VIEW batch_events AS SELECT * FROM events")  # the projection's SQL, as is
        con.execute(store_sql("token_lineage_apply"))
        con.execute("CHECKPOINT")
        lineage_s = time.perf_counter() - t0
        root = "hmac-sha256:k1:" + "0" * 64
        [(first, last)] = con.execute("SELECT min(received_at), max(received_at) FROM events").fetchall()
        timings: dict[str, list[float]] = {"now": [], "as_of": []}
        sizes: dict[str, int] = {}
        for _ in range(runs):
            for label, as_of in (("now", None), ("as_of", first + (last - first) / 2)):
                start = time.perf_counter()
                report = blast_radius(con, root, as_of=as_of, since=first - timedelta(days=1),
                                      sensitive_actions=SENSITIVE).to_dict()
                timings[label].append(time.perf_counter() - start)
                sizes[label] = report["summary"]["events"]
        tokens = len(report["lineage"])
    finally:
        con.close()
    return {"events": events, "load_s": load_s, "lineage_s": lineage_s, "tokens": tokens, "runs": runs,
            **{f"{label}_events": sizes[label] for label in timings},
            **{f"{label}_p50_ms": median(t) * 1000 for label, t in timings.items()},
            **{f"{label}_max_ms": max(t) * 1000 for label, t in timings.items()}}


def _key_list(key: ec.EllipticCurvePrivateKey, path: Path) -> str:
    """Write ``key``'s public half as GitHub's key list does; returns its key id."""
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    key_id = hashlib.sha256(pem.encode()).hexdigest()
    path.write_text(json.dumps({"public_keys": [{"key_identifier": key_id, "key": pem, "is_current": True}]}))
    return key_id


def _mint(trail: Trail, size: int) -> list[tuple[str, str]]:
    """A new root token and ``size`` descendants, CHILDREN per token, breadth first: (raw, fingerprint) each."""
    tree: list[tuple[str, str]] = []
    for n in range(size + 1):
        raw = f"at_bench_leak_{secrets.token_hex(16)}"
        parent = tree[(n - 1) // CHILDREN][0] if n else None
        with trail.action("token.issue", "issue_token", mode="async") as act:
            tree.append((raw, act.use_token(raw, issuer="https://idp.bench.example", parent_token=parent)))
    trail.flush()
    return tree


def _known(client: httpx.Client, fingerprint: str) -> bool:
    return bool(client.get(f"/v1/tokens/{fingerprint}", params={"lineage": "true"}).json()["known"])


def _trial(client: httpx.Client, key: ec.EllipticCurvePrivateKey, key_id: str,
           tree: list[tuple[str, str]]) -> tuple[float, float]:
    """Seconds from the report's POST to the whole tree revoked at the status endpoint, and to its answer."""
    body = json.dumps([{"token": tree[0][0], "type": "bench_token", "url": "https://gist.example/bench",
                        "source": "content"}]).encode()
    headers = {"Github-Public-Key-Identifier": key_id, "Content-Type": "application/json",
               "Github-Public-Key-Signature": base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()}
    last = max(fingerprint for _, fingerprint in tree)
    started = time.time()
    answer = client.post("/v1/leaks/github", content=body, headers=headers)
    answered = time.time() - started
    if answer.status_code != 200 or answer.json()[0]["label"] != "true_positive":
        raise BenchError(f"The bench's leak report was not accepted: {answer.status_code} {answer.text[:200]}")
    revoked = None
    while revoked is None and time.time() - started < TRIAL_TIMEOUT_S:
        if not client.get(f"/v1/tokens/{last}").json()["active"]:
            revoked = time.time() - started
        else:
            time.sleep(max(STATUS_EVERY_S - WATCH_SLEEP_S, WATCH_SLEEP_S))
    active = [fp for _, fp in tree if client.get(f"/v1/tokens/{fp}").json()["active"]]
    if revoked is None or active:
        raise BenchError(f"A leaked tree of {len(tree) - 1} descendants was not revoked within {TRIAL_TIMEOUT_S:g} s "
                         f"({len(active)} tokens still active); see the server's log in the bench directory.")
    return revoked, answered


def _summary(seconds: list[float], answers: list[float]) -> dict[str, Any]:
    ms = [s * 1000 for s in seconds]
    return {"p50_ms": round(percentile(ms, 0.5), 1), "p95_ms": round(percentile(ms, 0.95), 1),
            "max_ms": round(max(ms), 1), "answer_p50_ms": round(percentile([a * 1000 for a in answers], 0.5), 1)}
