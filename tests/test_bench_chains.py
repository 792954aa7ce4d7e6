"""The chain benchmark's two measures run end to end on small inputs (the real runs use 1M and 100k events)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenttrail.bench.chains import CHAIN_SIZE, measure_chain_query, measure_ingest
from tests.fixtures import SettingsFactory


def test_chain_query_benchmark_loads_projects_and_times_the_query(tmp_path: Path) -> None:
    report = measure_chain_query(tmp_path / "bench.duckdb", events=CHAIN_SIZE * 200, runs=5)
    assert report["rows_per_chain"] == CHAIN_SIZE, "every chain comes back whole"
    assert report["p50_ms"] > 0 and report["max_ms"] >= report["p50_ms"]
    assert report["project_events_per_s"] > 0
    with pytest.raises(FileExistsError):
        measure_chain_query(tmp_path / "bench.duckdb", events=CHAIN_SIZE)


def test_ingest_benchmark_materializes_one_topic_with_and_without_projections(
    settings_factory: SettingsFactory,
) -> None:
    settings = settings_factory()
    report = measure_ingest(settings, settings.bootstrap or "", events=300)
    assert report["events"] >= 300
    assert report["without_projections_events_per_s"] > 0 and report["with_projections_events_per_s"] > 0
