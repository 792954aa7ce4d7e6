"""(k) Console page loads on a large store: the trail search and the chain view, as the server answers them.

It takes stage (h)'s store (``measure_chain_query``: chained events and their
materialized chains), seals it into signed checkpoints as the materializer
would, and asks the console's pages through the real app (routing, the named
queries, the integrity proof of the event, Jinja2 rendering and the access
log's record of each read, published to the bench's broker and acknowledged)
served by uvicorn on a loopback port of this process: the time is the server's and
the loopback's, not a network's.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from agenttrail.access_log import AccessRecorder
from agenttrail.api import create_app
from agenttrail.bench.chains import CHAIN_SIZE, T0
from agenttrail.bench.report import BenchError, percentile
from agenttrail.callers import Callers
from agenttrail.config import Settings
from agenttrail.console.local import served
from agenttrail.consumers.projections.checkpoints import CheckpointSealer
from agenttrail.consumers.store import open_store
from agenttrail.signing import trusted_public_key

RUNS = 30  # page loads of each kind


def trail_searches(events: int) -> list[str]:
    """What an analyst asks the trail page, over stage (h)'s data (50 agents, 5 tenants, 3 regions)."""
    midway = (T0 + timedelta(microseconds=events * 50)).isoformat()
    asks = [{}, {"tenant": "tenant-2", "agent": "agent-7"}, {"principal": "human:user3@tenant-3.example"},
            {"action": "llm.call", "outcome": "failure"}, {"region": "us-east-1", "since": midway}]
    return [f"/ui/trail?{urlencode(ask)}".rstrip("?") for ask in asks]


def measure_console(db: Path, settings: Settings, bootstrap: str, *, events: int, runs: int = RUNS, seed: int = 7,
                    on_progress: Callable[[int], None] = lambda _: None) -> dict[str, Any]:
    """Seal ``db`` (stage (h)'s store of ``events`` chained events), then time ``runs`` loads of each page kind."""
    con = open_store(db)
    try:
        t0 = time.perf_counter()
        con.begin()
        checkpoints = len(CheckpointSealer(settings).seal(con, partial=True))
        con.commit()
        seal_s = time.perf_counter() - t0
    finally:
        con.close()
    con = open_store(db, read_only=True)
    token = secrets.token_urlsafe(16)
    recorder = AccessRecorder(settings, bootstrap)
    app = create_app(con.cursor, callers=Callers(hashlib.sha256(token.encode()).hexdigest(), []), auth_reads=True,
                     recorder=recorder, public_key=partial(trusted_public_key, None, settings.signing_key_path))
    try:
        with served(app) as url, httpx.Client(base_url=url, timeout=60,
                                              headers={"Authorization": f"Bearer {token}"}) as client:
            searches = trail_searches(events)
            pages = client.get(searches[0], params={"format": "json"}).json()
            searches.append("/ui/trail?" + urlencode({"before": pages["next_before"]}))  # page 2, by keyset
            rng = random.Random(seed)
            chains = [f"/ui/events/{rng.randrange(events // CHAIN_SIZE):08x}-0000-7000-8000-"
                      f"{rng.randrange(CHAIN_SIZE):012x}" for _ in range(runs)]
            trail = _timed(client, [searches[i % len(searches)] for i in range(runs)], on_progress)
            chain = _timed(client, chains, on_progress)
            verified = "Integrity: verified" in client.get(chains[0]).text
    finally:
        recorder.close()
        con.close()
    return {"events": events, "checkpoints": checkpoints, "seal_s": seal_s, "runs": runs, "trail": trail,
            "chain": chain, "chain_verified": verified, "searches": searches}


def _timed(client: httpx.Client, urls: list[str], on_progress: Callable[[int], None]) -> dict[str, float]:
    timings = []
    for url in urls:
        start = time.perf_counter()
        answer = client.get(url)
        timings.append(time.perf_counter() - start)
        if answer.status_code != 200:
            raise BenchError(f"The console answered {answer.status_code} to {url}: {answer.text[:200]}")
        on_progress(1)
    return {"p50_ms": percentile(timings, 0.5) * 1000, "p95_ms": percentile(timings, 0.95) * 1000,
            "max_ms": max(timings) * 1000}
