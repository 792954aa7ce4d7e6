"""Commands that change governance through the audited control topic, and read its trail.

A change is published fail-closed (no ack, no change) and takes effect when the
materializer stores it, in the same order as agent actions; so the change
itself is part of the trail (`agenttrail control`).
"""

from __future__ import annotations

import getpass
from typing import Any

import click
from pydantic import ValidationError

from agenttrail.broker import resolve_bootstrap
from agenttrail.cli.options import (
    console,
    filter_params,
    kafka_options,
    listing_filters,
    output_options,
    settings_from,
)
from agenttrail.client import QueryClient
from agenttrail.producers.control import publish_control
from agenttrail.schemas.control import ControlPayload, TenantRegionsCleared, TenantRegionsSet


def _default_actor() -> str:
    try:
        return f"human:{getpass.getuser()}"
    except (KeyError, OSError):
        return "human:unknown"


def change_options(command: Any) -> Any:
    """Who makes a change and why; both are recorded with it."""
    command = click.option("--reason", help="Why: recorded with the change.")(command)
    command = click.option("--actor", default=_default_actor, show_default="human:$USER",
                           help="Who makes the change: human:ID, service:ID or agent:ID.")(command)
    return kafka_options(command)


def publish_change(ctx: click.Context, tenant: str, payload: ControlPayload, actor: str, reason: str | None,
             options: dict[str, Any]) -> None:
    settings = settings_from(ctx, **options)
    event = publish_control(settings, resolve_bootstrap(settings), tenant, payload,
                            actor=actor, via="cli", reason=reason)
    console.print(f"Recorded {payload.kind} for {tenant} (control event {event.event_id}); "
                  "it applies from its place in the trail once the materializer stores it.")


@click.group()
def regions() -> None:
    """Declare where a tenant's actions may touch data (audited control events).

    Actions whose resource or data region is outside the declared set are listed
    by `agenttrail query locality-violations`.

    \b
    Examples:
      agenttrail regions set acme eu-west-1 eu-central-1 --reason "GDPR: EU only"
      agenttrail regions list
      agenttrail regions clear acme --reason "contract ended"
    """


@regions.command("set")
@click.argument("tenant")
@click.argument("allowed", nargs=-1, required=True)
@change_options
@click.pass_context
def regions_set(ctx: click.Context, tenant: str, allowed: tuple[str, ...], actor: str, reason: str | None,
                **options: Any) -> None:
    """Allow TENANT's actions only in the ALLOWED regions.

    \b
    Example:
      agenttrail regions set acme eu-west-1 eu-central-1 --reason "GDPR: EU only"
    """
    publish_change(ctx, tenant, validated(TenantRegionsSet, regions=list(allowed)), actor, reason, options)


@regions.command("clear")
@click.argument("tenant")
@change_options
@click.pass_context
def regions_clear(ctx: click.Context, tenant: str, actor: str, reason: str | None, **options: Any) -> None:
    """Let TENANT's actions touch any region again.

    \b
    Example:
      agenttrail regions clear acme --reason "contract ended"
    """
    publish_change(ctx, tenant, TenantRegionsCleared(), actor, reason, options)


@regions.command("list")
@click.option("--tenant", help="Only this tenant.")
@output_options
@click.pass_context
def regions_list(ctx: click.Context, tenant: str | None) -> Any:
    """The allowed regions in force for each tenant.

    \b
    Example:
      agenttrail regions list --tenant acme
    """
    return QueryClient(settings_from(ctx)).query("tenant_regions", {"tenant": tenant})


@click.command()
@click.option("--kind", help="Only this kind of change, e.g. tenant.regions.set.")
@listing_filters
@output_options
@click.pass_context
def control(ctx: click.Context, kind: str | None, **filters: Any) -> Any:
    """The governance trail: every change made through the control topic, newest first.

    \b
    Examples:
      agenttrail control
      agenttrail control --tenant acme --kind tenant.regions.set --json
    """
    return QueryClient(settings_from(ctx)).query("control_log", filter_params(kind=kind, **filters))


def validated(cls: type[ControlPayload], **fields: Any) -> ControlPayload:
    """The payload, or a one-sentence error naming the bad value."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise click.BadParameter(f"{field}: {str(first['msg']).removeprefix('Value error, ')}") from None
