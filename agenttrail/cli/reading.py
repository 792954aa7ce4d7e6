"""Commands that read the store: one agent's trail, named queries, ad-hoc SQL, the quarantine."""

from __future__ import annotations

from typing import Any

import click

from agenttrail.cli.options import output_options, settings_from
from agenttrail.client import QueryClient
from agenttrail.queries import list_queries
from agenttrail.timeparse import parse_time


@click.command()
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
    return QueryClient(settings_from(ctx)).query("trail", params)


@click.command()
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
    return QueryClient(settings_from(ctx)).query(name, values)


@click.command()
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
    return QueryClient(settings_from(ctx)).sql(statement)


@click.command()
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
    return QueryClient(settings_from(ctx)).query("quarantine", {"reason": reason, "limit": str(limit)})
