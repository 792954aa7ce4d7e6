"""Commands for a leaked token: report it (an audited control event), list reports, and show its blast radius.

A report's revocation is the built-in rule leaked-token's, made when the
materializer stores the report; the blast radius is ``agenttrail.blast_radius``,
read through ``agenttrail serve`` when it holds the database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import pyarrow as pa

from agenttrail.blast_radius import TIMELINE_LIMIT, TIMELINE_MAX
from agenttrail.blast_radius_html import render_html
from agenttrail.broker import resolve_bootstrap
from agenttrail.chaintree import drawn
from agenttrail.cli.governance import change_options
from agenttrail.cli.options import (
    console,
    filter_params,
    listing_filters,
    output_options,
    settings_from,
    write_document,
)
from agenttrail.client import QueryClient
from agenttrail.leak_reports import Leak, record_leaks
from agenttrail.output import FORMATS, inert_markup, print_wide, render
from agenttrail.producers.control import publish_controls
from agenttrail.schemas.control import ControlEvent, ControlPayload
from agenttrail.timeparse import parse_time

# The report's sections in the table view, in order, with their titles.
_SECTIONS = (("leak_reports", "leak reports"), ("actions", "actions by type"),
             ("resources", "resources touched (sensitive actions first)"), ("places", "where it acted from"),
             ("principals", "on whose behalf"), ("spend", "spend (exact, per currency)"),
             ("budgets", "budgets as of then"), ("used_after_revocation", "used after revocation"),
             ("timeline", "timeline"))


@click.group()
def leak() -> None:
    """Report a leaked token, and list the reports (GitHub's secret scanning reports arrive over HTTP).

    \b
    Examples:
      agenttrail leak report --token-fingerprint hmac-sha256:k1:9f2c... --source https://gist.example/x \\
          --exposed-at 2026-11-30T08:00:00Z --reason "found in a public gist"
      agenttrail leak list --since 7d
      agenttrail blast-radius hmac-sha256:k1:9f2c...     # then: what did it do since?
    """


@leak.command("report")
@click.option("--token-fingerprint", "fingerprint", required=True, help="The token's fingerprint (hmac-sha256:k1:...).")
@click.option("--source", default="", help="Where it was found (a URL; recorded as text).")
@click.option("--exposed-at", help="When it became public: 30m, 2h, 7d or an ISO date/time (default: unknown).")
@change_options
@click.pass_context
def leak_report(ctx: click.Context, fingerprint: str, source: str, exposed_at: str | None, actor: str,
                reason: str | None, **options: Any) -> None:
    """Report a token as leaked: an audited control event; a token our events carried is revoked with its tree.

    A token no stored event carried is recorded as false_positive and nothing is revoked;
    `agenttrail revoke --token FP --tenant T` stops it in advance.

    \b
    Example:
      agenttrail leak report --token-fingerprint hmac-sha256:k1:9f2c... --source https://gist.example/x \\
          --exposed-at 2026-11-30T08:00:00Z --reason "found in a public gist"
    """
    settings = settings_from(ctx, **options)
    client = QueryClient(settings)

    def known(fingerprints: Sequence[str]) -> dict[str, str]:
        found = {fp: client.query("token_status", {"fingerprint": fp}).to_pylist()[0] for fp in fingerprints}
        return {fp: str(row["tenant"]) for fp, row in found.items() if row["known"]}

    def publish(changes: Sequence[tuple[str, ControlPayload]]) -> list[ControlEvent]:
        return publish_controls(settings, resolve_bootstrap(settings), changes, actor=actor, via="cli", reason=reason)

    moment = parse_time(exposed_at, label="--exposed-at") if exposed_at else None
    [done] = record_leaks([Leak(fingerprint, source, moment)], reporter=actor, known=known, publish=publish)
    then = ("the built-in rule leaked-token revokes it and every token minted from it once the materializer "
            "stores the report" if done.label == "true_positive" else
            "no stored event carried it, so nothing is revoked")
    console.print(f"Recorded leak.reported for {inert_markup(done.tenant)} (control event {done.event_id}, "
                  f"{done.label}); {then}.")


@leak.command("list")
@click.option("--fingerprint", help="Only this token's reports.")
@listing_filters
@output_options
@click.pass_context
def leak_list(ctx: click.Context, fingerprint: str | None, **filters: Any) -> Any:
    """Leak reports, newest first: which token, where and when it was exposed, who reported it, the label.

    \b
    Example:
      agenttrail leak list --since 7d --json
    """
    return QueryClient(settings_from(ctx)).query("leak_reports", filter_params(fingerprint=fingerprint, **filters))


@click.command("blast-radius")
@click.argument("fingerprint")
@click.option("--since", help="Start of the window: 30m, 2h, 7d or an ISO date/time (default: the exposure its "
                              "leak reports give, else the lineage's whole history).")
@click.option("--as-of", help="Answer as AgentTrail knew it then: tokens, lineage, revocations, budgets, events.")
@click.option("--limit", type=click.IntRange(1, TIMELINE_MAX), default=TIMELINE_LIMIT, show_default=True,
              help="Timeline events listed, oldest first (the summary counts them all).")
@click.option("--format", "fmt", type=click.Choice([*FORMATS, "html"]), default="table", show_default=True,
              help="table, json or html (the report); csv or parquet (its timeline).")
@click.option("--json", "fmt", flag_value="json", help="Shortcut for --format json.")
@click.option("--csv", "fmt", flag_value="csv", help="Shortcut for --format csv.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE (needed for parquet).")
@click.pass_context
def blast_radius_command(ctx: click.Context, fingerprint: str, since: str | None, as_of: str | None, limit: int,
                         fmt: str, output: Path | None) -> None:
    """Everything a token and every token minted from it did since it was exposed.

    Actions by type, resources touched (purchases, registrations, deployments first),
    regions and source addresses, exact spend per currency, the principals they acted for,
    the first and last use, the attempts after revocation, the budgets' state, and the
    timeline; the lineage drawn as a tree. With --as-of, as AgentTrail knew it at that
    moment. --format html writes one self-contained page to attach to an incident.

    \b
    Examples:
      agenttrail blast-radius hmac-sha256:k1:9f2c...
      agenttrail blast-radius hmac-sha256:k1:9f2c... --format html -o incident-4711.html
      agenttrail blast-radius hmac-sha256:k1:9f2c... --as-of 2026-12-01T09:00:00Z --json
    """
    params = {"since": parse_time(since, label="--since").isoformat() if since else None,
              "as_of": parse_time(as_of, label="--as-of").isoformat() if as_of else None, "limit": str(limit)}
    report = QueryClient(settings_from(ctx)).blast_radius(fingerprint, params)
    if fmt in ("csv", "parquet"):
        render(pa.Table.from_pylist(report["timeline"]), fmt, output=output, console=console)
    elif fmt in ("json", "html"):
        write_document(json.dumps(report, ensure_ascii=True, indent=2) + "\n" if fmt == "json"
                       else render_html(report), output)
    else:
        _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    window = f"since {report['since']} ({report['exposure']})" if report["since"] else "over its whole history"
    console.print(f"[bold]blast radius[/bold] of {inert_markup(report['fingerprint'])} in "
                  f"{inert_markup(report['tenant'])}, {window}, as known at {report['as_of']}", soft_wrap=True)
    console.print(inert_markup(", ".join(f"{key.replace('_', ' ')} {value}"
                                         for key, value in report["summary"].items())), soft_wrap=True)
    print_wide(console, drawn(report["lineage"], _token_label, key="fingerprint", parent="parent", title="lineage"))
    for name, title in _SECTIONS:
        console.print(f"\n[bold]{title}[/bold]")
        rows = report[name]
        if rows:
            render(pa.Table.from_pylist(rows), "table", console=console)
        else:
            console.print("[dim]none[/dim]")


def _token_label(token: dict[str, Any]) -> str:
    state = (f"[red]{inert_markup(token['status'])}[/red] since {inert_markup(str(token['stopped_at']))}: "
             f"{inert_markup(token['reason'])}" if token["status"] else "[green]active[/green]")
    return (f"[bold]{inert_markup(token['fingerprint'])}[/bold]  [dim]{inert_markup(str(token['holder']))}, "
            f"first seen {inert_markup(str(token['first_seen']))}[/dim]  {state}")
