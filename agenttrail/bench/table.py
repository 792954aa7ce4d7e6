"""The measures as a table (rich) or JSON, each checked against its target."""

from __future__ import annotations

import json
from dataclasses import asdict

from rich.console import Console
from rich.table import Table

from agenttrail.bench.console_table import console_rows
from agenttrail.bench.detection_table import detection_rows
from agenttrail.bench.leaks_table import leak_rows
from agenttrail.bench.otlp_table import otlp_rows
from agenttrail.bench.privacy_table import privacy_rows
from agenttrail.bench.report import TARGETS, BenchReport, Measure
from agenttrail.bench.revocation_table import revocation_rows
from agenttrail.bench.scale_out_table import scale_out_rows
from agenttrail.consumers.pipeline import WORKER_PHASES


def measures(report: BenchReport) -> list[Measure]:
    """The table's rows, each target checked."""
    c, s, m, n, q = report.ceiling, report.sdk, report.materializer, report.naive, report.query
    stretch = TARGETS["materializer_vs_consume_stretch"]
    client = report.machine.get("kafka_client", "kafka-python")  # older reports did not say: kafka-python
    rows = [
        Measure("(a) ceiling", f"produce, {client} acks=all, {c.avg_bytes:.0f} B", c.produce_per_s, "msg/s"),
        Measure("(a) ceiling", f"consume, {client} poll, no processing", c.consume_per_s, "msg/s"),
        Measure("(b) sdk", "async emit call p50", s.emit_p50_us, "µs",
                f"≤ {TARGETS['emit_p50_us']:g} µs", s.emit_p50_us <= TARGETS["emit_p50_us"]),
        Measure("(b) sdk", "async emit call p99", s.emit_p99_us, "µs"),
        Measure("(b) sdk", "action block p50 (with trail.action)", s.action_p50_us, "µs"),
        Measure("(b) sdk", "action block p99", s.action_p99_us, "µs"),
        Measure("(b) sdk", "end to end, emit N + flush", s.events_per_s, "ev/s"),
        Measure("(b) sdk", "÷ raw produce", s.ratio_to_produce, "x",
                f"≥ {TARGETS['sdk_vs_produce']:g}x", s.ratio_to_produce >= TARGETS["sdk_vs_produce"]),
        Measure("(c) materializer", "topic -> committed rows", m.events_per_s, "ev/s"),
        Measure("(c) materializer", "÷ naive baseline", m.ratio_to_naive, "x",
                f"≥ {TARGETS['materializer_vs_naive']:g}x", m.ratio_to_naive >= TARGETS["materializer_vs_naive"]),
        Measure("(c) materializer", "÷ raw consume", m.ratio_to_consume, "x",
                f"≥ {TARGETS['materializer_vs_consume']:g}x (stretch {stretch:g}x)",
                m.ratio_to_consume >= TARGETS["materializer_vs_consume"],
                note=f"stretch {'met' if m.ratio_to_consume >= stretch else 'missed'}"),
    ]
    # The materializer's own phases add up to its run time; the worker's overlap them.
    main = {phase: seconds for phase, seconds in m.phases.items() if phase not in WORKER_PHASES}
    total = sum(main.values()) or 1.0
    for phase, seconds in m.phases.items():
        note = (f"{seconds / total:.0%} of {total:.1f} s" if phase in main
                else "worker process (overlapped), or decode here")
        rows.append(Measure("(c) materializer", f"  time in {phase}", seconds / m.events * 1e6, "µs/ev", note=note))
    # CPU time, unlike wall time, is not inflated by other processes on a busy machine: with
    # a core free for each, the slower of the two processes bounds the materializer.
    rows += [
        Measure("(c) materializer", "  CPU, materializer process", m.cpu_seconds / m.events * 1e6, "µs/ev",
                note=f"+ {m.worker_cpu_seconds / m.events * 1e6:,.1f} µs/ev in the decode worker"),
        Measure("(e) naive", "per-record decode, from_pylist insert per poll", n.events_per_s, "ev/s"),
        Measure("(e) naive", "  CPU, one process", n.cpu_seconds / n.events * 1e6, "µs/ev"),
        Measure("(d) query", f"trail, 1 of {q.agents} agents, since {q.since}, over {q.stored_events:,} events, p50",
                q.p50_ms, "ms", f"≤ {TARGETS['query_p50_ms']:g} ms", q.p50_ms <= TARGETS["query_p50_ms"],
                note=f"{q.rows_returned} rows, max {q.max_ms:.1f} ms"),
        Measure("(d) query", "load (INSERT … SELECT over range)", q.load_seconds, "s"),
    ]
    return (rows + _projection_rows(report) + detection_rows(report.detection) + revocation_rows(report.revocation)
            + console_rows(report.console) + otlp_rows(report.otlp)
            + leak_rows(report.leak_cascade, report.blast_radius) + scale_out_rows(report.scale_out)
            + privacy_rows(report.privacy))


def _projection_rows(report: BenchReport) -> list[Measure]:
    """(f) what the projections cost on the same topic, (g) verify, (h) the chain query."""
    p, v, c = report.projected, report.verify, report.chain_query
    total = sum(seconds for phase, seconds in p.phases.items() if phase not in WORKER_PHASES) or 1.0
    sealing = p.phases.get("project checkpoints", 0.0) / total
    rows = [
        Measure("(f) projections", "topic -> committed rows, every projection", p.events_per_s, "ev/s"),
        Measure("(f) projections", "÷ (c) without projections", p.events_per_s / report.materializer.events_per_s,
                "x"),
    ]
    rows += [Measure("(f) projections", f"  time in {phase}", seconds / p.events * 1e6, "µs/ev")
             for phase, seconds in p.phases.items() if phase.startswith("project ")]
    rows += [
        Measure("(f) projections", "sealing Merkle checkpoints, share of ingest time", sealing * 100, "%",
                f"≤ {TARGETS['sealing_share']:.0%}", sealing <= TARGETS["sealing_share"]),
        Measure("(g) verify", f"re-hash and check {v['events']:,} events, {v['checkpoints']} checkpoints",
                v["events_per_s"], "ev/s", f"≥ {TARGETS['verify_events_per_s']:,.0f} ev/s",
                v["events_per_s"] >= TARGETS["verify_events_per_s"],
                note="clean" if not v["problems"] else f"{v['problems']} problems"),
        Measure("(h) chains", f"chain query, {c['rows_per_chain']}-event chain in {c['events']:,} events, p50",
                c["p50_ms"], "ms", f"≤ {TARGETS['chain_query_p50_ms']:g} ms",
                c["p50_ms"] <= TARGETS["chain_query_p50_ms"], note=f"max {c['max_ms']:.1f} ms"),
    ]
    return rows


def _format(value: float, unit: str) -> str:
    if unit in ("msg/s", "ev/s", "trials", "spans/s"):
        return f"{value:,.0f} {unit}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "s":
        return f"{value:.2f} s"
    if unit in ("µs/ev", "µs/span"):
        return f"{value:,.1f} {unit}"
    if unit == "":
        return ""
    return f"{value:,.1f} {unit}"


def render_report(report: BenchReport, console: Console) -> None:
    """The measures as a table, then the machine they were measured on."""
    table = Table(title=f"agenttrail bench: {report.events:,} events, {report.query_events:,} stored for the query")
    for name, justify in (("stage", "left"), ("measure", "left"), ("value", "right"), ("target", "left"),
                          ("ok", "center"), ("note", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in report.measures or measures(report):
        mark = "" if row.ok is None else ("[green]✓[/]" if row.ok else "[red]✗[/]")
        table.add_row(row.stage, row.measure, _format(row.value, row.unit), row.target, mark, row.note)
    console.print(table)
    machine = report.machine
    console.print(
        f"machine: {machine['platform']}, {machine['cpu_count']} CPUs ({machine['processor']}), "
        f"Python {machine['python']}, Kafka client {machine.get('kafka_client', 'kafka-python')} "
        f"(kafka-python {machine['kafka-python']}, confluent-kafka {machine.get('confluent-kafka', '?')}), "
        f"duckdb {machine['duckdb']}, "
        f"fastavro {machine['fastavro']}, pyarrow {machine['pyarrow']}; "
        f"load average at start {machine['load_average_at_start']}; total {report.seconds:.0f} s",
        highlight=False,
    )


def report_json(report: BenchReport) -> str:
    data = asdict(report)
    data["measures"] = [asdict(m) for m in (report.measures or measures(report))]
    data["targets"] = TARGETS
    return json.dumps(data, indent=2, ensure_ascii=False)
