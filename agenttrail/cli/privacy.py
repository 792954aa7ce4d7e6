"""Commands that keep personal data only as long as allowed: erase a person, and each tenant's retention period.

Both are audited control events, applied by the materializer at their place in the
trail: an erasure destroys the person's keys (their sealed fields then read
"[erased]"), a retention run removes events older than the tenant's period; either
way ``agenttrail verify`` stays clean.
"""

from __future__ import annotations

from typing import Any

import click

from agenttrail.cli.governance import change_options, publish_change, validated
from agenttrail.cli.options import output_options, settings_from
from agenttrail.client import QueryClient
from agenttrail.erasure import EVERY_TENANT, erasure
from agenttrail.schemas.control import RetentionCleared, RetentionRun, RetentionSet


def _require_reason(reason: str | None) -> str:
    if not reason:
        raise click.UsageError("Say why with --reason: it is recorded with the change.")
    return reason


@click.command()
@click.option("--subject", required=True, help="The person: human:ID, or their id.")
@click.option("--tenant", default=EVERY_TENANT, show_default=True, help="Only this tenant's keys (* for every one).")
@change_options
@click.pass_context
def erase(ctx: click.Context, subject: str, tenant: str, actor: str, reason: str | None, **options: Any) -> None:
    """Erase a person: destroy their keys, so their id and addresses read [erased] everywhere.

    The trail's bytes, hashes and proofs stay as they are (the values in them are
    sealed), so `agenttrail verify` stays clean. Only the person's digest is recorded,
    never their id: keep the id out of --reason too.

    \b
    Examples:
      agenttrail erase --subject human:alice@acme.example --reason "GDPR art. 17 request #4711"
      agenttrail query erasures          # every erasure applied, and how many keys it destroyed
    """
    settings = settings_from(ctx, **options)
    change = erasure(settings.fingerprint_key, settings.fingerprint_key_id, subject, reason=_require_reason(reason))
    publish_change(ctx, tenant, change, actor, reason, options)


@click.group()
def retention() -> None:
    """How long each tenant's events are kept, and the runs that remove older ones (audited control events).

    A run removes the sealed events received more than the tenant's period before it;
    `agenttrail serve` runs one by itself every AGENTTRAIL_RETENTION_INTERVAL_S when
    any are due. `agenttrail verify` reports what a run removed as that run's fact.

    \b
    Examples:
      agenttrail retention set --tenant acme --days 90 --reason "DPA: 90 days"
      agenttrail retention run --reason "nightly"
      agenttrail retention list
      agenttrail retention runs --tenant acme
    """


@retention.command("set")
@click.option("--tenant", required=True, help="The tenant.")
@click.option("--days", required=True, help="Keep its events this many days after they are received (0.5: 12 hours).")
@change_options
@click.pass_context
def retention_set(ctx: click.Context, tenant: str, days: str, actor: str, reason: str | None, **options: Any) -> None:
    """Keep TENANT's events DAYS days.

    \b
    Example:
      agenttrail retention set --tenant acme --days 90 --reason "DPA: 90 days"
    """
    publish_change(ctx, tenant, validated(RetentionSet, days=days), actor, _require_reason(reason), options)


@retention.command("clear")
@click.option("--tenant", required=True, help="The tenant.")
@change_options
@click.pass_context
def retention_clear(ctx: click.Context, tenant: str, actor: str, reason: str | None, **options: Any) -> None:
    """Keep TENANT's events without limit again.

    \b
    Example:
      agenttrail retention clear --tenant acme --reason "legal hold #12"
    """
    publish_change(ctx, tenant, RetentionCleared(), actor, _require_reason(reason), options)


@retention.command("run")
@click.option("--tenant", default=EVERY_TENANT, show_default=True,
              help="Only this tenant (* for every one with a period).")
@change_options
@click.pass_context
def retention_run(ctx: click.Context, tenant: str, actor: str, reason: str | None, **options: Any) -> None:
    """Remove the events older than their tenant's period, now.

    \b
    Example:
      agenttrail retention run --tenant acme --reason "after the period was shortened"
    """
    publish_change(ctx, tenant, RetentionRun(), actor, reason, options)


@retention.command("list")
@click.option("--tenant", help="Only this tenant.")
@output_options
@click.pass_context
def retention_list(ctx: click.Context, tenant: str | None) -> Any:
    """Each tenant's retention period in force, who set it, and what runs removed so far.

    \b
    Example:
      agenttrail retention list --json
    """
    return QueryClient(settings_from(ctx)).query("retention", {"tenant": tenant})


@retention.command("runs")
@click.option("--tenant", help="Only this tenant.")
@output_options
@click.pass_context
def retention_runs(ctx: click.Context, tenant: str | None) -> Any:
    """Every retention run, newest first: per tenant, the cutoff and how many events it removed.

    \b
    Example:
      agenttrail retention runs --tenant acme --csv
    """
    return QueryClient(settings_from(ctx)).query("retention_runs", {"tenant": tenant})
