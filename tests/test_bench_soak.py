"""`agenttrail bench --soak` at a tiny size: every event stored through a real `agenttrail serve`, memory sampled.

Whether memory stays flat is measured by a real soak (README, Benchmark); this proves the
soak stores exactly what it produced, samples every process it reports on, runs DuckDB
under the configured limit and stops the server it started.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from agenttrail.bench.soak import run_soak
from agenttrail.bench.soak_table import render_soak, soak_report_json
from agenttrail.broker import EmbeddedBroker
from tests.fixtures import SettingsFactory


def test_the_soak_stores_every_event_and_samples_the_memory_of_each_process(
    settings_factory: SettingsFactory, tmp_path: Path
) -> None:
    with EmbeddedBroker() as broker:
        settings = settings_factory(bootstrap=broker.bootstrap, duckdb_memory_limit="256MB")
        progress: list[int] = []
        report = run_soak(settings, broker.bootstrap, broker.pid, tmp_path, 3000, progress.append)

    assert sum(progress) == 3000 and report.samples[-1].stored == 3000
    assert report.memory_limit == "256MB" and report.limit_mb == 256
    assert report.start_mb > 0 and all(s.serve_mb > 0 and s.broker_mb > 0 and s.worker_mb > 0
                                       for s in report.samples), "every process sampled"
    assert 0 < report.peak("duckdb_mb") <= report.limit_mb * 1.02, "DuckDB ran under the configured limit"
    assert report.slices()[-1]["up_to"] == 3000 and report.db_mb > 0
    data = json.loads(soak_report_json({"load_average_at_start": [0.0, 0.0, 0.0]}, report))
    assert data["events"] == 3000 and isinstance(data["flat"], bool) and len(data["samples"]) == len(report.samples)
    out = io.StringIO()
    render_soak({"load_average_at_start": [0.0, 0.0, 0.0]}, report, Console(file=out, width=200))
    assert "DuckDB memory limit 256MB" in out.getvalue()
    assert not (tmp_path / "soak.server.json").exists(), "the server was stopped"
