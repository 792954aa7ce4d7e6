"""`agenttrail bench` end to end at a tiny size: every stage reports, the JSON is valid.

Speed is measured, never asserted: only that each stage produced a positive number.
"""

from __future__ import annotations

import io
import json

from rich.console import Console

from agenttrail.bench import render_report, report_json, run_bench


def test_bench_reports_every_stage_with_positive_numbers() -> None:
    out = io.StringIO()
    report = run_bench(events=2000, query_events=5000, console=Console(file=out), progress=False)

    assert report.ceiling.produce_per_s > 0 and report.ceiling.consume_per_s > 0
    assert report.ceiling.avg_bytes > 0
    assert report.sdk.emit_p50_us > 0 and report.sdk.emit_p99_us >= report.sdk.emit_p50_us
    assert report.sdk.action_p50_us > 0 and report.sdk.events_per_s > 0 and report.sdk.ratio_to_produce > 0
    assert report.materializer.events_per_s > 0 and report.materializer.batches > 0
    assert report.materializer.ratio_to_consume > 0 and report.materializer.ratio_to_naive > 0
    assert report.naive.events_per_s > 0 and report.naive.transactions > 0
    assert report.query.p50_ms > 0 and report.query.rows_returned > 0 and report.query.load_seconds > 0
    stages = {m.stage for m in report.measures}
    assert stages == {"(a) ceiling", "(b) sdk", "(c) materializer", "(e) naive", "(d) query", "(f) projections",
                      "(g) verify", "(h) chains", "(i) anomalies", "(j) revocation", "(k) console",
                      "(l) otlp", "(m) leaks", "(n) scale-out", "(o) privacy"}
    assert report.detection is None, "stage (i) runs only when asked for (tests/test_bench_detection.py)"
    assert report.verify["events"] == 2000 and report.verify["problems"] == 0
    assert report.chain_query["events"] == 5000 and report.chain_query["p50_ms"] > 0
    assert report.console["chain_verified"] and report.console["checkpoints"] >= 1
    assert report.console["trail"]["p50_ms"] > 0 and report.console["chain"]["p50_ms"] > 0
    assert report.blast_radius["events"] == 5000 and report.blast_radius["now_events"] > 0
    assert report.leak_cascade is None, "stage (m)'s cascade runs only when asked for (tests/test_bench_leaks.py)"
    assert report.scale_out is None, "stage (n) runs only when asked for (tests/test_bench_scale_out.py)"
    assert 0 < report.privacy["removed"] < report.privacy["stored"] == 2000, "one tenant's events expired"
    assert any(phase.startswith("project ") for phase in report.projected.phases)
    assert all(m.value > 0 for m in report.measures if m.unit and not m.measure.startswith("  time in"))
    assert set(report.materializer.phases) >= {"poll", "decode", "validate", "arrow", "insert", "commit"}
    assert sum(report.materializer.phases.values()) > 0

    data = json.loads(report_json(report))
    assert data["events"] == 2000 and data["query_events"] == 5000
    assert {"ceiling", "sdk", "materializer", "naive", "query", "projected", "verify", "chain_query", "console",
            "blast_radius", "machine", "measures", "targets"} <= set(data)

    render_report(report, Console(file=out, width=200))
    assert "trail" in out.getvalue() and "machine:" in out.getvalue()
