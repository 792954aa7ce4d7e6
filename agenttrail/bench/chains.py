"""What the chains projection costs and buys: the chain query at scale, and ingest with and without it.

``measure_chain_query`` loads synthetic chained events straight into a store (set-based,
no Kafka), materializes the chains by replaying them through the real projection (so it
also reports the projection's own throughput), then times the ``chain`` named query for
random events. ``measure_ingest`` produces a simulated fleet once and materializes the same
topic twice, without projections and with the default ones, so the difference is the
projections' cost on identical data. Each returns a plain dict for a report.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from agenttrail import sql
from agenttrail.config import Settings
from agenttrail.consumers.batch import Projection
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.projections.chains import ChainsProjection
from agenttrail.consumers.rebuild import rebuild
from agenttrail.consumers.store import open_store
from agenttrail.producers.fleet import Fleet
from agenttrail.producers.trail import connect
from agenttrail.queries import run_query

CHAIN_SIZE = 12
STALL_S = 30.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def measure_chain_query(db_path: Path, *, events: int = 1_000_000, runs: int = 50, agents: int = 50,
                        batch_size: int = 5000, seed: int = 7) -> dict[str, Any]:
    """Load ``events`` chained events into a new store at ``db_path`` and time the ``chain`` query.

    Fails with ``FileExistsError`` if ``db_path`` exists: the benchmark never mixes its rows
    into a real store.
    """
    if db_path.exists():
        raise FileExistsError(f"{db_path} exists; the chain benchmark needs a new file")
    loader = sql.text("bench_chain_events")
    con = open_store(db_path)
    try:
        con.execute("SET enable_progress_bar = false")  # DuckDB draws it on stdout, inside `agenttrail bench --json`
        t0 = time.perf_counter()
        con.execute(loader, {"total": events, "chain_size": CHAIN_SIZE, "agents": agents, "t0": T0})
        con.execute("CHECKPOINT")
        t1 = time.perf_counter()
        rebuild(con, [ChainsProjection()], batch_size=batch_size)  # the chain tables are what the query reads
        con.execute("CHECKPOINT")
        t2 = time.perf_counter()
        rng = random.Random(seed)
        timings, rows = [], 0
        for _ in range(runs):
            chain, position = rng.randrange(events // CHAIN_SIZE), rng.randrange(CHAIN_SIZE)
            start = time.perf_counter()
            rows = run_query(con, "chain", {"event_id": f"{chain:08x}-0000-7000-8000-{position:012x}"}).num_rows
            timings.append(time.perf_counter() - start)
    finally:
        con.close()
    return {"events": events, "chain_size": CHAIN_SIZE, "load_s": t1 - t0, "project_s": t2 - t1,
            "project_events_per_s": events / (t2 - t1), "runs": runs, "rows_per_chain": rows,
            "p50_ms": median(timings) * 1000, "max_ms": max(timings) * 1000}


def measure_ingest(settings: Settings, bootstrap: str, *, events: int = 100_000, seed: int = 7) -> dict[str, Any]:
    """Events/s of the materializer on one fleet's topic, without and with the default projections."""
    trail = connect(tenant="bench", agent_id="fleet-simulator", agent_version="0.1.0", region="local",
                    principal="service:bench", settings=settings)
    try:
        Fleet(trail, seed=seed).run(events)
    finally:
        trail.close()
    produced = trail.emitter.stats.acked
    with tempfile.TemporaryDirectory(prefix="agenttrail-bench-chains-") as work:
        bare = _materialize(settings, bootstrap, Path(work) / "bare.duckdb", produced, [])
        full = _materialize(settings, bootstrap, Path(work) / "full.duckdb", produced,
                            default_projections(settings))
    return {"events": produced, "without_projections_events_per_s": bare,
            "with_projections_events_per_s": full, "ratio": full / bare}


def _materialize(settings: Settings, bootstrap: str, db: Path, expected: int,
                 projections: Sequence[Projection]) -> float:
    con = open_store(db)
    materializer = Materializer(settings, bootstrap, con, projections=projections)
    try:
        materializer.start()
        stored, t0 = 0, time.perf_counter()
        deadline = time.monotonic() + STALL_S
        while stored < expected:
            result = materializer.step()
            if result is not None:
                stored += result.stored + result.duplicates + result.quarantined
                deadline = time.monotonic() + STALL_S
            elif time.monotonic() > deadline:
                raise TimeoutError(f"the materializer stalled at {stored} of {expected} events")
        return expected / (time.perf_counter() - t0)
    finally:
        materializer.close()
        con.close()
