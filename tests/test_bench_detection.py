"""Bench stage (i) at a tiny size: a labelled fleet run live, every injected anomaly scored.

Quality and speed are measured by `agenttrail bench`, never asserted: this proves the
plumbing (ground truth, flags, matching, delays) on one short seed.
"""

from __future__ import annotations

from pathlib import Path

from agenttrail.bench.detection import measure_detection
from agenttrail.bench.detection_table import detection_rows
from agenttrail.producers.scenarios import KINDS, AnomalyShape
from tests.fixtures import SettingsFactory


def test_every_injected_anomaly_is_scored_with_its_delays(settings_factory: SettingsFactory,
                                                           tmp_path: Path) -> None:
    progress: list[int] = []
    result = measure_detection(lambda stage: settings_factory(db=tmp_path / f"{stage}.duckdb"),
                               settings_factory().bootstrap or "", tmp_path, events=16_000, anomalies=1,
                               wall_rate=8000, seeds=(5,), shape=AnomalyShape(creep_minutes=(4.0, 6.0)),
                               on_progress=progress.append)
    held = result["held_out"]
    assert result["held_out_seeds"] == [5] and sum(progress) >= 16_000
    assert sorted(held["kinds"]) == sorted(KINDS)
    assert all(k["injected"] == 1 for k in held["kinds"].values())
    detected = [k for k in held["kinds"].values() if k["detected"]]
    assert detected, "a runaway loop or a leaked token is caught even on a short run"
    assert all(k["pipeline_delay_p95_s"] is not None and k["pipeline_delay_p95_s"] > 0 for k in detected)
    assert all(k["evidence_delay_p95_s"] >= 0 for k in detected)
    assert 0 <= held["precision"] <= 1 and held["detectors"]
    rows = detection_rows(result)
    assert rows[0].measure == "precision, held-out seeds 5" and any("recall, runaway_loop" in r.measure for r in rows)
