"""(c) The materializer: events/s from a pre-loaded topic to committed DuckDB rows, and where the time goes."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from agenttrail.bench.report import STALL_S, BenchError, MaterializerResult
from agenttrail.config import Settings
from agenttrail.consumers.batch import Projection
from agenttrail.consumers.materializer import WORKER_CPU, Materializer
from agenttrail.consumers.store import open_store


def measure_materializer(settings: Settings, bootstrap: str, db: Path, expected: int,
                         on_progress: Callable[[int], None], *,
                         projections: Sequence[Projection] | None = None) -> MaterializerResult:
    """``projections=()`` measures the pipeline alone (what the naive baseline does too); None, all of them."""
    con = open_store(db)
    materializer = Materializer(settings, bootstrap, con, projections=projections)
    try:
        materializer.start()
        done, batches, last_progress = 0, 0, time.monotonic()
        t0, cpu0 = time.perf_counter(), time.process_time()
        while done < expected:
            result = materializer.step()
            if result is None:
                if time.monotonic() - last_progress > STALL_S:
                    raise BenchError(f"The materializer stalled at {done} of {expected} events.")
                continue
            batches += 1
            handled = result.stored + result.duplicates + result.quarantined
            done += handled
            on_progress(handled)
            last_progress = time.monotonic()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        expect_rows(con, expected, "materializer")
        phases = dict(materializer.timings)
        worker_cpu = phases.pop(WORKER_CPU)
    finally:
        materializer.close()
        con.close()
    return MaterializerResult(events=expected, seconds=seconds, events_per_s=expected / seconds, batches=batches,
                              ratio_to_consume=0.0, ratio_to_naive=0.0, phases=phases, cpu_seconds=cpu,
                              worker_cpu_seconds=worker_cpu)


def expect_rows(con: duckdb.DuckDBPyConnection, expected: int, who: str) -> None:
    row = con.execute("SELECT count(*), (SELECT count(*) FROM quarantine) FROM events").fetchone()
    stored, quarantined = (int(row[0]), int(row[1])) if row else (0, 0)
    if stored != expected or quarantined:
        raise BenchError(f"The {who} stored {stored} of {expected} events and quarantined {quarantined}.")
