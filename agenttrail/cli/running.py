"""Commands that run something long-lived: the demo, the service, the materializer, the broker, the bench."""

from __future__ import annotations

import signal
from typing import Any

import click
from rich.markup import escape

from agenttrail._exceptions import AgentTrailError
from agenttrail.broker import EmbeddedBroker
from agenttrail.cli.options import console, err_console, kafka_options, settings_from, shard_option
from agenttrail.runtime import remove_state, write_state


@click.command()
@click.option("--events", default=5000, show_default=True, type=click.IntRange(1), help="How many events to produce.")
@click.option("--seed", default=7, show_default=True, help="Fleet simulator seed.")
@click.pass_context
def demo(ctx: click.Context, events: int, seed: int) -> None:
    """Run the whole pipeline on an embedded broker with a simulated fleet.

    \b
    Examples:
      agenttrail demo
      agenttrail demo --events 100000
    """
    from agenttrail.demo import run_demo

    report = run_demo(ctx.find_root().obj["db"], events, seed=seed, console=console)
    if report.stored + report.duplicates < report.produced:
        raise AgentTrailError(f"Only {report.stored} of {report.produced} events were stored in time.")


@click.command()
@kafka_options
@shard_option
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8470; 0 picks a free one).")
@click.option("--auth", is_flag=True, help="Require the API token for reads too.")
@click.pass_context
def serve(ctx: click.Context, auth: bool, **options: Any) -> None:
    """Own the database: run the materializer and answer queries over HTTP.

    Without --bootstrap an embedded broker starts and its address is recorded
    beside the database, so the SDK and the CLI find it.

    \b
    Examples:
      agenttrail serve
      agenttrail serve --bootstrap kafka-1:9092 --port 8470 --auth
      agenttrail --db shard-2.duckdb serve --bootstrap kafka-1:9092 --shard 2/3 --port 8472
    """
    from agenttrail.service import serve as run_serve

    _stop_on_sigterm()
    run_serve(settings_from(ctx, **options), auth_reads=auth, announce=console.print)


@click.command()
@kafka_options
@shard_option
@click.pass_context
def consume(ctx: click.Context, **options: Any) -> None:
    """Run only the materializer against any Kafka (no HTTP API).

    \b
    Examples:
      agenttrail consume --bootstrap kafka-1:9092
      AGENTTRAIL_BOOTSTRAP=kafka-1:9093 AGENTTRAIL_SECURITY_PROTOCOL=SASL_SSL agenttrail consume
      agenttrail --db shard-1.duckdb consume --bootstrap kafka-1:9092 --shard 1/3
    """
    from agenttrail.broker import resolve_bootstrap
    from agenttrail.service import consume as run_consume

    _stop_on_sigterm()
    settings = settings_from(ctx, **options)
    run_consume(settings, resolve_bootstrap(settings), announce=console.print)


@click.command()
@kafka_options
@click.option("--json", "as_json", is_flag=True, help="Print the whole status document as JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool, **options: Any) -> None:
    """Is the service keeping up? Readiness, broker, consumer lag per partition, freshness.

    Asks the running `agenttrail serve` (what GET /v1/status answers); with no
    server, measures the database file and the broker now. Exits 1 when the
    service is not ready, so a script or cron job can act on it.

    \b
    Examples:
      agenttrail status
      agenttrail status --json | jq '.partitions[] | select(.lag > 0)'
    """
    import json

    from agenttrail.client import QueryClient

    doc = QueryClient(settings_from(ctx, **options)).status()
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        _print_status(doc)
    if not doc["ready"]:
        ctx.exit(1)


def _print_status(doc: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("check", "value", show_header=False, box=None)
    table.add_row("ready", "[green]yes[/]" if doc["ready"] else "[red]no[/]")
    table.add_row("broker", "reachable" if doc.get("broker_reachable") else "[red]not reachable[/]")
    table.add_row("materializer", str(doc["materializer"]))
    table.add_row("lag", f"{doc.get('lag', 0):,} records (ready while at most {doc['max_lag']:,})")
    for p in doc.get("partitions", []):
        table.add_row(escape(f"  {p['topic']}[{p['partition']}]"), f"{p['lag']:,} behind (end {p['end_offset']:,}, "
                      f"stored up to {p['next_offset']:,})")
    freshness = doc.get("freshness_s")
    table.add_row("freshness", "no events stored" if freshness is None else
                  f"newest event received {freshness:,.1f} s ago")
    for reason, count in (doc.get("quarantined") or {}).items():
        table.add_row(f"quarantined: {reason}", f"{count:,}")
    for d in doc.get("deliveries", []):
        table.add_row(f"webhook {d['endpoint']}: {d['status']}", f"{d['count']:,}")
    for problem in doc["problems"]:
        table.add_row("[red]problem[/]", escape(problem))
    console.print(table)


@click.command()
@click.option("--port", type=int, default=0, help="Port (default: a free one).")
@click.pass_context
def broker(ctx: click.Context, port: int) -> None:
    """Run only the embedded broker, recorded beside the database for the SDK and CLI.

    \b
    Example:
      agenttrail broker &   # then agents and `agenttrail consume` find it
    """
    _stop_on_sigterm()
    settings = settings_from(ctx)
    with EmbeddedBroker(port or None) as embedded:
        write_state(settings.broker_state_file, {"bootstrap": embedded.bootstrap, "embedded": True})
        try:
            console.print(f"Embedded broker at {embedded.bootstrap} (memory only); Ctrl-C to stop.")
            signal.pause()
        finally:
            remove_state(settings.broker_state_file)


@click.command()
@click.option("--events", default=500_000, show_default=True, type=click.IntRange(1000),
              help="Events pre-loaded for the materializer stages.")
@click.option("--query-events", default=1_000_000, show_default=True, type=click.IntRange(1000),
              help="Stored events the trail query runs over.")
@click.option("--detection-events", default=150_000, show_default=True,
              type=click.IntRange(0),
              help="Events per seed of the labelled fleets the anomaly detectors are scored on (4 seeds); 0 skips.")
@click.option("--revocation-trials", default=200, show_default=True, type=click.IntRange(0),
              help="Leaked tokens whose revocation latency is measured through `agenttrail serve`; 0 skips.")
@click.option("--otlp-spans", default=100_000, show_default=True, type=click.IntRange(0),
              help="OpenTelemetry spans exported to `agenttrail serve`'s POST /v1/traces; 0 skips.")
@click.option("--leak-trials", default=10, show_default=True, type=click.IntRange(0),
              help="Leaked token trees of each size (1, 10, 1,000 descendants) reported to `agenttrail serve`; "
                   "0 skips.")
@click.option("--scale-out-events", default=100_000, show_default=True, type=click.IntRange(0),
              help="Events on a six-partition topic stored by 1, 2 and 3 `agenttrail serve --shard` processes; "
                   "0 skips.")
@click.option("--soak", is_flag=True, help="Instead of the stages: push --soak-events through the broker and "
              "`agenttrail serve` with every projection, recording throughput and memory over time.")
@click.option("--soak-events", default=10_000_000, show_default=True, type=click.IntRange(1),
              help="Events the soak pushes through.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
def bench(events: int, query_events: int, detection_events: int, revocation_trials: int, otlp_spans: int,
          leak_trials: int, scale_out_events: int, soak: bool, soak_events: int, as_json: bool) -> None:
    """Measure every stage on a private embedded broker and print the table.

    With --soak, run the load and soak test instead: the server's memory must stay
    within DuckDB's limit (AGENTTRAIL_DUCKDB_MEMORY_LIMIT, 1GB when unset) whatever the
    event count.

    \b
    Examples:
      agenttrail bench
      agenttrail bench --events 100000 --query-events 200000 --json > bench.json
      agenttrail bench --events 20000 --detection-events 0   # quick, without the detection stage
      agenttrail bench --events 1000 --query-events 1000 --detection-events 0 --revocation-trials 200
      agenttrail bench --events 1000 --query-events 1000 --detection-events 0 --revocation-trials 0 --otlp-spans 200000
      agenttrail bench --events 1000 --detection-events 0 --revocation-trials 0 --leak-trials 10   # stage (m)
      agenttrail bench --events 1000 --query-events 1000 --detection-events 0 --revocation-trials 0 \
          --otlp-spans 0 --leak-trials 0 --scale-out-events 200000   # stage (n): 1, 2 and 3 shards
      agenttrail bench --soak --soak-events 1000000
      AGENTTRAIL_DUCKDB_MEMORY_LIMIT=512MB agenttrail bench --soak --json > soak.json
    """
    from agenttrail.bench import render_report, render_soak, report_json, run_bench, run_soak_bench, soak_report_json

    if soak:
        machine, soaked = run_soak_bench(events=soak_events, console=err_console if as_json else console)
        if as_json:
            click.echo(soak_report_json(machine, soaked))
        else:
            render_soak(machine, soaked, console)
        return
    report = run_bench(events=events, query_events=query_events, detection_events=detection_events,
                       revocation_trials=revocation_trials, otlp_spans=otlp_spans, leak_trials=leak_trials,
                       scale_out_events=scale_out_events, console=err_console if as_json else console)
    if as_json:
        click.echo(report_json(report))
    else:
        render_report(report, console)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> None:
    """SIGTERM stops long-running commands the way Ctrl-C does (state files removed, broker stopped)."""
    signal.signal(signal.SIGTERM, _interrupt)
