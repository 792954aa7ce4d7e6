"""How well the anomaly detectors do on a simulated fleet with labelled anomalies, live.

For each seed the fleet runs on a virtual clock (``pace`` events per simulated
second, so baselines look like a real fleet's) with ``anomalies`` instances of each
injected kind, throttled to ``wall_rate`` events per wall second while a real
materializer with every projection consumes beside it, as in production. The
detectors' defaults were tuned on ``TUNING_SEED``; the report's figures come from
``HELD_OUT_SEEDS``, which were never looked at while tuning.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agenttrail import sql
from agenttrail.bench.detection_score import Score, flag_from_row, percentile, score
from agenttrail.config import Settings
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.store import open_store
from agenttrail.consumers.store import sql as consumer_sql
from agenttrail.producers.fleet import Fleet
from agenttrail.producers.scenarios import AnomalyShape
from agenttrail.producers.trail import connect

TUNING_SEED = 1
# 2-4, 5-7, 8-10, 11-13, 16-18, 19-21, 22-24, 25-27, 28-30, 31-33, 34-36: each held out, then used to diagnose
HELD_OUT_SEEDS = (37, 38, 39)
PACE = 20.0  # virtual events per second for 24 agents: about 50 per agent per minute
STALL_S = 60.0


def measure_detection(settings_for: Callable[[str], Settings], bootstrap: str, work: Path, *, events: int,
                      anomalies: int, wall_rate: float, seeds: tuple[int, ...] = (TUNING_SEED, *HELD_OUT_SEEDS),
                      shape: AnomalyShape | None = None,
                      on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Precision, recall and delays on the held-out seeds (and, apart, on the tuning seed)."""
    held_out, tuning = Score({}, {}), Score({}, {})
    for seed in seeds:
        result = _run_seed(settings_for(f"detect{seed}"), bootstrap, work / f"detect-{seed}.duckdb", seed=seed,
                           events=events, anomalies=anomalies, wall_rate=wall_rate, shape=shape,
                           on_progress=on_progress)
        (tuning if seed == TUNING_SEED else held_out).add(result)
    return {"events_per_seed": events, "anomalies_per_kind_per_seed": anomalies, "pace": PACE,
            "wall_rate": wall_rate, "tuning_seed": TUNING_SEED if TUNING_SEED in seeds else None,
            "held_out_seeds": [s for s in seeds if s != TUNING_SEED],
            "held_out": summary(held_out), "tuning": summary(tuning)}


def summary(result: Score) -> dict[str, Any]:
    def seconds(values: list[float], q: float) -> float | None:
        found = percentile(values, q)
        return None if found is None else round(found, 3)

    return {
        "precision": result.precision,
        "kinds": {kind: {"injected": k.injected, "detected": k.detected, "recall": k.recall,
                         "caught_by": dict(sorted(k.caught_by.items())),
                         "evidence_delay_p50_s": seconds(k.evidence_delays_s, 0.5),
                         "evidence_delay_p95_s": seconds(k.evidence_delays_s, 0.95),
                         "pipeline_delay_p50_s": seconds(k.pipeline_delays_s, 0.5),
                         "pipeline_delay_p95_s": seconds(k.pipeline_delays_s, 0.95)}
                  for kind, k in sorted(result.kinds.items())},
        "detectors": {name: {"flags": d.flags, "true": d.true, "precision": d.precision}
                      for name, d in sorted(result.detectors.items())},
        "pipeline_delay_p95_s": seconds([v for k in result.kinds.values() for v in k.pipeline_delays_s], 0.95),
        "missed": result.missed,
        "false_flags": result.false_flags[:50],
    }


def _run_seed(settings: Settings, bootstrap: str, db: Path, *, seed: int, events: int, anomalies: int,
              wall_rate: float, shape: AnomalyShape | None, on_progress: Callable[[int], None] | None) -> Score:
    con = open_store(db)
    materializer = Materializer(settings, bootstrap, con)
    materializer.start()
    committed: list[tuple[int, float]] = []  # (last store_seq, wall time) of each committed batch
    produced: list[int] = []  # set once the fleet has finished: how many events to wait for
    failure: list[BaseException] = []

    def consume() -> None:
        stored, deadline = 0, time.monotonic() + STALL_S
        try:
            while not (produced and stored >= produced[0]):
                result = materializer.step()
                if result is not None and result.stored:
                    [(last_seq,)] = con.execute(consumer_sql("last_store_seq")).fetchall()
                    committed.append((last_seq, time.time()))
                    stored += result.stored + result.duplicates + result.quarantined
                    deadline = time.monotonic() + STALL_S
                elif time.monotonic() > deadline:
                    raise TimeoutError(f"the materializer stalled at {stored} events")
        except BaseException as exc:  # re-raised in the benchmark's thread
            failure.append(exc)

    consumer = threading.Thread(target=consume, name=f"detect-{seed}")
    consumer.start()
    try:
        trail = connect(tenant="bench", agent_id="fleet-simulator", agent_version="0.1.0", region="local",
                        principal="service:bench", settings=settings)
        try:
            report = Fleet(trail, seed=seed, pace=PACE, track_emits=True).run(
                events, _increments(on_progress), anomalies=anomalies, shape=shape, wall_rate=wall_rate)
        finally:
            trail.close()
        produced.append(trail.emitter.stats.acked)
    finally:
        produced.append(0)  # stops the consumer if the fleet failed
        consumer.join()
        materializer.close()
    if failure:
        con.close()
        raise failure[0]
    rows = con.sql(sql.text("bench_flags")).to_arrow_table().to_pylist()
    con.close()
    occurred = {row["raised_by"]: row["raised_occurred_at"] for row in rows}
    return score(report.anomalies, [flag_from_row(row) for row in rows], committed=committed,
                 emitted_wall=report.emitted_wall, occurred=occurred)


def _increments(on_progress: Callable[[int], None] | None) -> Callable[[int], None] | None:
    """The fleet reports its running total; a progress bar wants what was added since."""
    if on_progress is None:
        return None
    reported = [0]

    def advance(total: int) -> None:
        on_progress(total - reported[0])
        reported[0] = total

    return advance
