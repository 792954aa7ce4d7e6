"""The soak's report: throughput and memory per tenth of the run, and whether memory stayed flat."""

from __future__ import annotations

import json
import os
from typing import Any

from rich.console import Console
from rich.table import Table

from agenttrail.bench.soak import SoakReport, soak_json


def render_soak(machine: dict[str, Any], report: SoakReport, console: Console) -> None:
    table = Table(title=f"agenttrail bench --soak: {report.events:,} events, every projection on, "
                        f"DuckDB memory limit {report.memory_limit}")
    for name in ("events stored", "after", "events/s (this tenth)", "server RSS", "DuckDB's cache",
                 "the rest", "decode worker RSS", "broker RSS", "load average"):
        table.add_column(name, justify="right")
    for row in report.slices():
        table.add_row(f"{row['up_to']:,}", f"{row['at_s']:,.0f} s", f"{row['events_per_s']:,.0f}",
                      *(f"{row[name]:,.0f} MB" for name in ("serve_mb", "duckdb_mb", "rest_mb", "worker_mb",
                                                             "broker_mb")), f"{row['load']:.2f}")
    console.print(table)
    verdict = "[green]flat ✓[/green]" if report.flat else "[red]grew ✗[/red]"
    rest = report.rest()
    console.print(
        f"{report.events:,} events in {report.seconds:,.0f} s ({report.events / max(report.seconds, 1e-9):,.0f} "
        f"events/s). Server RSS {report.start_mb:,.0f} MB at start, peak {report.peak('serve_mb'):,.0f} MB: "
        f"DuckDB's cache peaked at {report.peak('duckdb_mb'):,.0f} MB of its {report.limit_mb:,.0f} MB, the rest "
        f"ranged {min(rest, default=0):,.0f}-{max(rest, default=0):,.0f} MB and grew "
        f"{report.rest_growth_per_million():+,.0f} MB per million events over the second half: {verdict}. "
        f"Peaks: decode worker {report.peak('worker_mb'):,.0f} MB, broker {report.peak('broker_mb'):,.0f} MB (the "
        f"embedded broker keeps every record in memory). Store {report.db_mb:,.0f} MB. Load average at start "
        f"{machine['load_average_at_start']}, at the end {[round(x, 2) for x in os.getloadavg()]}.")


def soak_report_json(machine: dict[str, Any], report: SoakReport) -> str:
    return json.dumps({"machine": machine, **soak_json(report)}, indent=2)
