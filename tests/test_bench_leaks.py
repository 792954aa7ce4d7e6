"""Bench stage (m) at a tiny size: leaked trees reported through a real `agenttrail serve`, and the blast radius
report over stage (d)'s store.

Latency is measured by `agenttrail bench`, never asserted: this proves that every reported tree is revoked
whole at the status endpoint, and that the report covers the lineage the store builder planted.
"""

from __future__ import annotations

from pathlib import Path

from agenttrail.bench.leaks import measure_blast_radius, measure_leak_cascade
from agenttrail.bench.leaks_table import leak_rows
from tests.fixtures import SettingsFactory


def test_every_reported_tree_is_revoked_whole_and_every_report_is_timed(settings_factory: SettingsFactory,
                                                                        tmp_path: Path) -> None:
    settings = settings_factory()
    progress: list[int] = []
    cascade = measure_leak_cascade(settings, settings.bootstrap or "", tmp_path / "leaks", trials=2,
                                   on_progress=progress.append, sizes=(1, 10))
    assert sum(progress) == 4 and set(cascade["trees"]) == {"1", "10"}
    for found in cascade["trees"].values():
        assert found["answer_p50_ms"] > 0 and 0 < found["p50_ms"] <= found["p95_ms"] <= found["max_ms"]
    assert not (tmp_path / "leaks" / "leaks.server.json").exists(), "the server was stopped"

    blast = measure_blast_radius(tmp_path / "blast.duckdb", events=20_000, runs=2)
    assert blast["tokens"] == 10, "the first tenant's ten agents' tokens, one tree"
    assert blast["now_events"] > blast["as_of_events"] > 0, "as of mid-week, half the week's uses were known"
    rows = leak_rows(cascade, blast)
    assert [row.measure.split(",")[0] for row in rows] == [
        "GitHub report -> tree of 1 revoked at GET /v1/tokens/{fp}", "GitHub report -> tree of 10 revoked at GET "
        "/v1/tokens/{fp}", "blast radius", "blast radius"]
    assert leak_rows(None, blast)[0].measure == "skipped (--leak-trials 0)"
