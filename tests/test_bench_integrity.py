"""The integrity measurements at a tiny size: each produces positive numbers and a clean store verifies.

Speed is measured, never asserted (the README records the full-size numbers).
"""

from __future__ import annotations

from pathlib import Path

from agenttrail.bench.integrity import measure_sealing_cost, measure_verify
from agenttrail.config import Settings


def test_sealing_cost_compares_three_materializer_runs(tmp_path: Path) -> None:
    measure = measure_sealing_cost(3000, checkpoint_events=500, rounds=1, workdir=tmp_path)
    assert measure.checkpoints == 6
    assert min(measure.without_projections_per_s, measure.streams_per_s, measure.streams_and_sealing_per_s) > 0
    assert -1 < measure.sealing_cost < 1 and 0 < measure.sealing_share < 1


def test_verify_measure_counts_every_event_of_a_clean_store(sealed: Settings) -> None:
    measure = measure_verify(sealed.db, key_file=sealed.signing_key_path)
    assert (measure.events, measure.checkpoints, measure.problems) == (25, 3, 0)
    assert measure.events_per_s > 0
