"""Commands that reconstruct who did what for whom: one operation chain, one principal's agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from agenttrail._exceptions import EventNotFoundError
from agenttrail.chaintree import chain_nested, chain_tree, rollup_line
from agenttrail.cli.options import console, format_options, output_options, settings_from, write_document
from agenttrail.client import QueryClient
from agenttrail.output import inert, print_wide, render, to_records


@click.command()
@click.argument("event_id")
@format_options
@click.pass_context
def chain(ctx: click.Context, event_id: str, fmt: str, output: Path | None) -> None:
    """The whole operation chain around one event: ancestors to the root and every descendant.

    The table view draws an indented tree (start time, duration, actor, outcome and
    cost per action) under the chain's rollup; --json nests the same tree, each node
    with its children; --csv and parquet give the flat rows of `query chain`.

    \b
    Examples:
      agenttrail chain 01931c1e-7a2b-7c3d-9e4f-0123456789ab
      agenttrail chain 01931c1e-7a2b-7c3d-9e4f-0123456789ab --json > chain.json
    """
    client = QueryClient(settings_from(ctx))
    rows = client.query("chain", {"event_id": event_id})
    if rows.num_rows == 0:
        raise EventNotFoundError(f"No stored event has the id {inert(event_id)!r}; "
                                 "`agenttrail trail --agent ID` lists an agent's event ids.")
    if fmt in ("csv", "parquet"):
        render(rows, fmt, output=output, console=console)
        return
    [rollup] = to_records(client.query("chain_summary", {"event_id": event_id}))
    if fmt == "json":
        [tree] = chain_nested(rows)
        _write_json({"rollup": rollup, "tree": tree}, output)
        return
    console.print(rollup_line(rollup), soft_wrap=True)
    print_wide(console, chain_tree(rows))  # a wrapped tree loses its shape


@click.command()
@click.argument("principal")
@click.option("--tenant", help="Only this tenant.")
@output_options
@click.pass_context
def principal(ctx: click.Context, principal: str, tenant: str | None) -> Any:
    """Every agent acting for one principal, directly or through delegation, with counts, spend and tokens.

    PRINCIPAL is kind:id (human:alice@acme.example) or just the id. Sub-agents
    appear once per delegation path (actor_path, outermost delegator first).

    \b
    Examples:
      agenttrail principal human:alice@acme.example
      agenttrail principal service:billing-bot.acme --tenant acme --json
    """
    return QueryClient(settings_from(ctx)).query("principal", {"principal": principal, "tenant": tenant})


def _write_json(document: dict[str, Any], output: Path | None) -> None:
    """ASCII-only JSON, so control and bidi characters in stored values arrive escaped, never live."""
    write_document(json.dumps(document, ensure_ascii=True, indent=2) + "\n", output)
