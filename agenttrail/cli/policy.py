"""Commands for policy rules: test a file, backtest it on history, load or remove it, and read what fired.

Loading is an audited control event carrying the file's exact text and hash; a
file that does not validate is refused here with its line and reason (and, if
one slipped through, rejected again by the materializer, the set before it
staying in force).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pyarrow as pa
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agenttrail.cli.governance import change_options, publish_change, validated
from agenttrail.cli.options import err_console, filter_params, listing_filters, output_options, settings_from
from agenttrail.client import QueryClient
from agenttrail.consumers.policy import RuleSet, backtest, check_conditions, parse_rules
from agenttrail.consumers.store import open_store
from agenttrail.schemas.control import PolicySetLoaded, PolicySetRemoved
from agenttrail.timeparse import parse_time

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _checked(path: Path) -> tuple[str, RuleSet]:
    """The file's text and rules, conditions bound against an empty store (PolicyError names the line)."""
    text = path.read_text("utf-8")
    rules = parse_rules(text)
    check_conditions(rules)
    return text, rules


@click.group()
def policy() -> None:
    """Policy rules that alert, revoke token trees or suspend agents, in enforce or dry_run mode.

    A rule's `when` is a DuckDB SQL expression over one row of policy_events: the
    event's columns (tenant, agent_id, action_type, outcome, token_fingerprint,
    source_address, agent_region, cost_amount, …), `flags` (kinds of anomaly flags
    raised on its agent or token in the hour before it), `budget_pct`, `agent_spend_day`
    (its agent's spend that UTC day, in the event's currency), `token_revoked` and
    `agent_suspended`. An example set ships in agenttrail/policies/example.yaml.

    \b
    Examples:
      agenttrail policy test rules.yaml
      agenttrail policy backtest rules.yaml --since 30d
      agenttrail policy load rules.yaml --name security --reason "leaked-token response"
      agenttrail policy decisions --mode enforce --since 1d
    """


@policy.command("test")
@click.argument("file", type=_FILE)
@output_options
def policy_test(file: Path) -> Any:
    """Validate FILE: YAML, fields, and every condition parsed and bound by DuckDB; lists its rules.

    \b
    Example:
      agenttrail policy test agenttrail/policies/example.yaml
    """
    _, rules = _checked(file)
    return pa.Table.from_pylist([
        {"id": r.id, "version": r.version, "action": r.action, "mode": r.mode, "severity": r.severity,
         "line": r.line, "when": r.when} for r in rules.rules])


@policy.command("backtest")
@click.argument("file", type=_FILE)
@click.option("--since", default="30d", show_default=True, help="Replay events from: 30m, 2h, 7d or an ISO date.")
@click.option("--tenant", default="*", show_default=True, help="Judge only this tenant's events.")
@output_options
@click.pass_context
def policy_backtest(ctx: click.Context, file: Path, since: str, tenant: str) -> Any:
    """What FILE's rules would have decided on the stored history, with no side effects.

    It runs the same evaluation as live: through `agenttrail serve` when it owns
    the database, else over the file opened read-only.

    \b
    Example:
      agenttrail policy backtest rules.yaml --since 7d --json
    """
    text, rules = _checked(file)
    settings = settings_from(ctx)
    since_at = parse_time(since, label="--since")
    client = QueryClient(settings)
    if client.server_url:
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err_console,
                      transient=True) as progress:
            progress.add_task(f"backtesting through {client.server_url}", total=None)
            return client.backtest(text, since=since_at, tenant=tenant)
    con = open_store(settings.db, read_only=True)
    try:
        [(total,)] = con.execute("SELECT count(*) FROM events").fetchall()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err_console, transient=True) as progress:
            task = progress.add_task("backtesting", total=total)
            return backtest(con, rules, since=since_at, tenant=tenant,
                            on_progress=lambda n: progress.advance(task, n))
    finally:
        con.close()


@policy.command("load")
@click.argument("file", type=_FILE)
@click.option("--name", required=True, help="The set's name; loading under the same name replaces it.")
@click.option("--tenant", default="*", show_default=True, help="The tenant it judges ('*': every tenant).")
@change_options
@click.pass_context
def policy_load(ctx: click.Context, file: Path, name: str, tenant: str, actor: str, reason: str | None,
                **options: Any) -> None:
    """Load FILE as the rule set NAME (an audited control event with its text and hash).

    \b
    Example:
      agenttrail policy load rules.yaml --name security --reason "after backtest: 3 true positives, 0 false"
    """
    text, rules = _checked(file)
    payload = validated(PolicySetLoaded, name=name, sha256=rules.sha256, text=text)
    publish_change(ctx, tenant, payload, actor, reason, options)


@policy.command("remove")
@click.argument("name")
@click.option("--tenant", default="*", show_default=True)
@change_options
@click.pass_context
def policy_remove(ctx: click.Context, name: str, tenant: str, actor: str, reason: str | None, **options: Any) -> None:
    """Stop enforcing the rule set NAME; its decisions stay.

    \b
    Example:
      agenttrail policy remove security --reason "replaced by security-v2"
    """
    publish_change(ctx, tenant, validated(PolicySetRemoved, name=name), actor, reason, options)


@policy.command("list")
@click.option("--tenant", help="Only sets for this tenant ('*' for the global ones).")
@output_options
@click.pass_context
def policy_list(ctx: click.Context, tenant: str | None) -> Any:
    """Rule sets, newest first: in force, replaced, removed or rejected (with the reason).

    \b
    Example:
      agenttrail policy list --json
    """
    return QueryClient(settings_from(ctx)).query("policy_sets", {"tenant": tenant})


@policy.command("decisions")
@click.option("--rule", help="Only this rule id.")
@click.option("--mode", type=click.Choice(["enforce", "dry_run"]))
@listing_filters
@output_options
@click.pass_context
def policy_decisions(ctx: click.Context, rule: str | None, mode: str | None, **filters: Any) -> Any:
    """What the rules decided, newest first: rule version, subject, the event that fired it, the action.

    \b
    Example:
      agenttrail policy decisions --mode dry_run --since 1d
    """
    return QueryClient(settings_from(ctx)).query("policy_decisions", filter_params(rule=rule, mode=mode, **filters))
