"""Commands for anomaly flags: list them, and acknowledge one (an audited control event)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from agenttrail.cli.governance import change_options, publish_change, validated
from agenttrail.cli.options import console, filter_params, format_options, listing_filters, settings_from
from agenttrail.client import QueryClient
from agenttrail.output import render
from agenttrail.schemas.control import AnomalyAcknowledged

KINDS = ("spend_spike", "spend_drift", "rate_spike", "new_behaviour", "token_origin", "region_violation",
         "failure_burst", "sensitive_burst")


@click.group(invoke_without_command=True)
@click.option("--open", "only_open", is_flag=True, help="Only flags nobody has acknowledged.")
@click.option("--kind", type=click.Choice(KINDS), help="Only this detector's flags.")
@listing_filters
@format_options
@click.pass_context
def anomalies(ctx: click.Context, only_open: bool, kind: str | None, fmt: str, output: Path | None,
              **filters: Any) -> None:
    """Anomaly flags, newest first: what each detector saw, how far past its bar, and the evidence.

    A flag is one episode: a runaway agent raises one flag that grows (hits,
    last_seen) rather than one per minute. `--since` filters on last_seen.

    \b
    Examples:
      agenttrail anomalies --open
      agenttrail anomalies --kind spend_spike --since 2h --json
      agenttrail anomalies ack 'spend_spike:acme/billing-bot|USD:0192...' --note "load test"
    """
    if ctx.invoked_subcommand is None:
        params = filter_params(kind=kind, status="open" if only_open else None, **filters)
        render(QueryClient(settings_from(ctx)).query("anomalies", params), fmt, output=output, console=console)


@anomalies.command("ack")
@click.argument("flag_id")
@click.option("--note", required=True, help="Why it needs nothing more: recorded with the acknowledgement.")
@change_options
@click.pass_context
def anomalies_ack(ctx: click.Context, flag_id: str, note: str, actor: str, reason: str | None,
                  **options: Any) -> None:
    """Acknowledge a flag: it stays, but is no longer open. Recorded as a control event.

    \b
    Example:
      agenttrail anomalies ack 'rate_spike:acme/support-acme:0192...' --note "planned backfill"
    """
    found = QueryClient(settings_from(ctx)).query("anomalies", {"flag_id": flag_id, "limit": "1"})
    if not found.num_rows:
        raise click.BadParameter(f"no anomaly flag {flag_id!r}; `agenttrail anomalies` lists them",
                                 param_hint="FLAG_ID")
    payload = validated(AnomalyAcknowledged, flag_id=flag_id, note=note)
    publish_change(ctx, found["tenant"][0].as_py(), payload, actor, reason, options)
