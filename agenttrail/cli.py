"""The `agenttrail` command: a thin click layer over the importable library.

Every error we anticipate is an ``AgentTrailError`` whose message is one
sentence for a person; ``main`` prints it and exits 1, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler

from agenttrail._exceptions import AgentTrailError
from agenttrail.broker import EmbeddedBroker
from agenttrail.client import QueryClient
from agenttrail.config import Settings, load_settings
from agenttrail.output import FORMATS, render
from agenttrail.queries import list_queries
from agenttrail.runtime import remove_state, write_state
from agenttrail.timeparse import parse_time

F = TypeVar("F", bound=Callable[..., Any])
console = Console()
err_console = Console(stderr=True)


class _Group(click.Group):
    """Turns AgentTrailError into one sentence and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AgentTrailError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.exceptions.Exit(130) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", type=click.Path(path_type=Path), envvar="AGENTTRAIL_DB",
              default="agenttrail.duckdb", show_default=True, help="The DuckDB store.")
@click.option("-v", "--verbose", is_flag=True, help="Log what the pipeline does.")
@click.version_option(package_name="agenttrail")
@click.pass_context
def cli(ctx: click.Context, db: Path, verbose: bool) -> None:
    """AgentTrail: which agent did what, for whom, where, at what cost, with proof.

    \b
    Start here:
      agenttrail demo                 # embedded broker + simulated fleet -> ./agenttrail.duckdb
      agenttrail trail --agent research-eu-1 --since 2h
      agenttrail serve                # broker, materializer and HTTP API in one process
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=err_console, show_path=False)])
    if not verbose:
        logging.getLogger("kafka").setLevel(logging.ERROR)
    ctx.obj = {"db": db}


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    return load_settings(db=ctx.obj["db"], **overrides)


def output_options(command: F) -> F:
    """--format/--json/--csv/--output, shared by every listing command."""
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
    @click.option("--json", "fmt", flag_value="json", help="Shortcut for --format json.")
    @click.option("--csv", "fmt", flag_value="csv", help="Shortcut for --format csv.")
    @click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE (needed for parquet).")
    @functools.wraps(command)
    def wrapper(*args: Any, fmt: str, output: Path | None, **kwargs: Any) -> Any:
        table = command(*args, **kwargs)
        render(table, fmt, output=output, console=console)
    return wrapper  # type: ignore[return-value]


def kafka_options(command: F) -> F:
    """Where Kafka is and how to reach it; every value can come from AGENTTRAIL_* instead."""
    for decorator in reversed([
        click.option("--bootstrap", envvar="AGENTTRAIL_BOOTSTRAP", help="Kafka bootstrap servers, host:port[,...]."),
        click.option("--security-protocol", type=click.Choice(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])),
        click.option("--sasl-mechanism", type=click.Choice(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"])),
        click.option("--sasl-username"),
        click.option("--ssl-cafile", type=click.Path(path_type=Path, exists=True)),
        click.option("--ssl-certfile", type=click.Path(path_type=Path, exists=True)),
        click.option("--ssl-keyfile", type=click.Path(path_type=Path, exists=True)),
    ]):
        command = decorator(command)
    return command


# -- running things --------------------------------------------------------------------------------


@cli.command()
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

    report = run_demo(ctx.obj["db"], events, seed=seed, console=console)
    if report.stored + report.duplicates < report.produced:
        raise AgentTrailError(f"Only {report.stored} of {report.produced} events were stored in time.")


@cli.command()
@kafka_options
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
    """
    from agenttrail.service import serve as run_serve

    _stop_on_sigterm()
    run_serve(_settings(ctx, **options), auth_reads=auth, announce=console.print)


@cli.command()
@kafka_options
@click.pass_context
def consume(ctx: click.Context, **options: Any) -> None:
    """Run only the materializer against any Kafka (no HTTP API).

    \b
    Examples:
      agenttrail consume --bootstrap kafka-1:9092
      AGENTTRAIL_BOOTSTRAP=kafka-1:9093 AGENTTRAIL_SECURITY_PROTOCOL=SASL_SSL agenttrail consume
    """
    from agenttrail.broker import resolve_bootstrap
    from agenttrail.service import consume as run_consume

    _stop_on_sigterm()
    settings = _settings(ctx, **options)
    run_consume(settings, resolve_bootstrap(settings))


@cli.command()
@click.option("--port", type=int, default=0, help="Port (default: a free one).")
@click.pass_context
def broker(ctx: click.Context, port: int) -> None:
    """Run only the embedded broker, recorded beside the database for the SDK and CLI.

    \b
    Example:
      agenttrail broker &   # then agents and `agenttrail consume` find it
    """
    _stop_on_sigterm()
    settings = _settings(ctx)
    with EmbeddedBroker(port or None) as embedded:
        write_state(settings.broker_state_file, {"bootstrap": embedded.bootstrap, "embedded": True})
        try:
            console.print(f"Embedded broker at {embedded.bootstrap} (memory only); Ctrl-C to stop.")
            signal.pause()
        finally:
            remove_state(settings.broker_state_file)


@cli.command()
@click.option("--events", default=500_000, show_default=True, type=click.IntRange(1000),
              help="Events pre-loaded for the materializer stages.")
@click.option("--query-events", default=1_000_000, show_default=True, type=click.IntRange(1000),
              help="Stored events the trail query runs over.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
def bench(events: int, query_events: int, as_json: bool) -> None:
    """Measure every stage on a private embedded broker and print the table.

    \b
    Examples:
      agenttrail bench
      agenttrail bench --events 100000 --query-events 200000 --json > bench.json
    """
    from agenttrail.bench import render_report, report_json, run_bench

    report = run_bench(events=events, query_events=query_events, console=err_console if as_json else console)
    if as_json:
        click.echo(report_json(report))
    else:
        render_report(report, console)


# -- reading things --------------------------------------------------------------------------------


@cli.command()
@click.option("--agent", required=True, help="Agent id.")
@click.option("--tenant", help="Only this tenant.")
@click.option("--since", help="Start: 30m, 2h, 7d or an ISO date/time.")
@click.option("--until", help="End: same forms as --since.")
@click.option("--action", "action_type", help="Only this action type, e.g. llm.call.")
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True)
@output_options
@click.pass_context
def trail(ctx: click.Context, agent: str, tenant: str | None, since: str | None, until: str | None,
          action_type: str | None, limit: int) -> Any:
    """Everything one agent did, newest first.

    \b
    Examples:
      agenttrail trail --agent research-eu-1 --since 2h
      agenttrail trail --agent billing-bot --tenant acme --action subscription.activate --json
    """
    params = {
        "agent": agent, "tenant": tenant, "action": action_type, "limit": str(limit),
        "since": parse_time(since, label="--since").isoformat() if since else None,
        "until": parse_time(until, label="--until").isoformat() if until else None,
    }
    return QueryClient(_settings(ctx)).query("trail", params)


@cli.command()
@click.argument("name", required=False)
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="A query parameter (repeatable).")
@click.option("--list", "list_only", is_flag=True, help="List the named queries and their parameters.")
@output_options
@click.pass_context
def query(ctx: click.Context, name: str | None, params: tuple[str, ...], list_only: bool) -> Any:
    """Run a named query from queries/*.sql with bound parameters.

    \b
    Examples:
      agenttrail query --list
      agenttrail query spend_by_agent --param tenant=acme --csv
      agenttrail query chain -p event_id=01931c1e-...
    """
    import pyarrow as pa

    if list_only or not name:
        infos = list_queries()
        return pa.Table.from_pylist([
            {"query": q.name, "description": q.description,
             "params": ", ".join(p.name + ("" if p.required else "?") for p in q.params)} for q in infos
        ])
    values: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} must look like KEY=VALUE", param_hint="--param")
        values[key] = value
    return QueryClient(_settings(ctx)).query(name, values)


@cli.command()
@click.argument("statement")
@output_options
@click.pass_context
def sql(ctx: click.Context, statement: str) -> Any:
    """Run one read-only SELECT against the store (no file access, no writes).

    \b
    Examples:
      agenttrail sql "SELECT tenant, count(*) FROM events GROUP BY ALL"
      agenttrail sql "SELECT * FROM quarantine" --json
    """
    return QueryClient(_settings(ctx)).sql(statement)


@cli.command()
@click.option("--reason", help="Only this reason, e.g. undecodable, invalid, secret.")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@output_options
@click.pass_context
def quarantine(ctx: click.Context, reason: str | None, limit: int) -> Any:
    """Input the materializer could not accept, with the reason (raw bytes never shown).

    \b
    Examples:
      agenttrail quarantine
      agenttrail quarantine --reason secret --json
    """
    return QueryClient(_settings(ctx)).query("quarantine", {"reason": reason, "limit": str(limit)})


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> None:
    """SIGTERM stops long-running commands the way Ctrl-C does (state files removed, broker stopped)."""
    signal.signal(signal.SIGTERM, _interrupt)


def main() -> None:
    cli.main(prog_name="agenttrail")


if __name__ == "__main__":
    main()
