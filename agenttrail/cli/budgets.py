"""Commands for budgets (set and removed through audited control events) and the alerts they raise."""

from __future__ import annotations

from typing import Any

import click

from agenttrail.cli.governance import change_options, publish_change, validated
from agenttrail.cli.options import filter_params, listing_filters, output_options, settings_from
from agenttrail.client import QueryClient
from agenttrail.schemas.control import BudgetRemoved, BudgetSet
from agenttrail.timeparse import parse_time


def _tenant_for(scope: str, tenant: str | None) -> str:
    """``tenant:T`` names its tenant; every other scope needs --tenant."""
    kind, _, ident = scope.partition(":")
    if kind == "tenant":
        if tenant not in (None, ident):
            raise click.BadParameter(f"scope {scope} belongs to tenant {ident}, not {tenant}", param_hint="--tenant")
        return ident
    if not tenant:
        raise click.BadParameter(f"scope {scope} needs the tenant it belongs to", param_hint="--tenant")
    return tenant


@click.group()
def budget() -> None:
    """Spending limits per tenant, principal, agent or token, checked on every charged event.

    Budgets are control events, so every change is audited (`agenttrail control`).
    Scopes nest: an agent's spend counts toward its principal's and tenant's budgets.
    The scope `agent:*` is the default for every agent without a budget of its own.

    \b
    Examples:
      agenttrail budget set --scope tenant:acme --limit 500.00 --currency USD --period month
      agenttrail budget set --tenant acme --scope 'agent:*' --limit 5 --currency USD --period day
      agenttrail budget set --tenant acme --scope agent:billing-bot --limit 50 --currency USD \\
          --period week --thresholds 50,80,100 --on-exceed suspend
      agenttrail budget list
      agenttrail budget show --tenant acme --scope agent:billing-bot
    """


@budget.command("set")
@click.option("--scope", required=True, help="tenant:T, principal:P, agent:A, agent:* or token:FINGERPRINT.")
@click.option("--tenant", help="The tenant (implied by a tenant:T scope).")
@click.option("--limit", "limit", required=True, help="Exact amount, e.g. 50.00 (never rounded).")
@click.option("--currency", required=True, help="ISO 4217 code; other currencies are listed unconverted.")
@click.option("--period", type=click.Choice(["day", "week", "month", "total"]), required=True,
              help="UTC calendar period, or total.")
@click.option("--thresholds", default="50,80,100", show_default=True, help="Percentages that raise an alert.")
@click.option("--on-exceed", type=click.Choice(["alert", "suspend", "revoke"]), default="alert", show_default=True,
              help="What reaching 100% asks for (suspend/revoke are recorded as decisions until policies enforce).")
@click.option("--model", help="Only charges by agents on this model.")
@change_options
@click.pass_context
def budget_set(ctx: click.Context, scope: str, tenant: str | None, limit: str, currency: str, period: str,
               thresholds: str, on_exceed: str, model: str | None, actor: str, reason: str | None,
               **options: Any) -> None:
    """Set (or replace) the budget on a scope.

    \b
    Example:
      agenttrail budget set --tenant acme --scope agent:billing-bot --limit 50 --currency USD --period week
    """
    try:
        percents = [int(p) for p in thresholds.split(",") if p.strip()]
    except ValueError:
        raise click.BadParameter(f"{thresholds!r} must be percentages like 50,80,100",
                                 param_hint="--thresholds") from None
    payload = validated(BudgetSet, scope=scope, model=model, limit=limit, currency=currency, period=period,
                        thresholds=percents, on_exceed=on_exceed)
    publish_change(ctx, _tenant_for(scope, tenant), payload, actor, reason, options)


@budget.command("remove")
@click.option("--scope", required=True, help="The scope whose budget ends.")
@click.option("--tenant", help="The tenant (implied by a tenant:T scope).")
@click.option("--model", help="The model the budget was scoped to, if any.")
@change_options
@click.pass_context
def budget_remove(ctx: click.Context, scope: str, tenant: str | None, model: str | None, actor: str,
                  reason: str | None, **options: Any) -> None:
    """End the budget on a scope (its history stays).

    \b
    Example:
      agenttrail budget remove --tenant acme --scope agent:billing-bot --reason "retired"
    """
    payload = validated(BudgetRemoved, scope=scope, model=model)
    publish_change(ctx, _tenant_for(scope, tenant), payload, actor, reason, options)


@budget.command("list")
@click.option("--tenant", help="Only this tenant.")
@output_options
@click.pass_context
def budget_list(ctx: click.Context, tenant: str | None) -> Any:
    """The budgets in force.

    \b
    Example:
      agenttrail budget list --tenant acme --json
    """
    return QueryClient(settings_from(ctx)).query("budgets", {"tenant": tenant})


@budget.command("show")
@click.option("--scope", required=True, help="tenant:T, principal:P, agent:A or token:FINGERPRINT.")
@click.option("--tenant", help="The tenant (implied by a tenant:T scope).")
@click.option("--model", help="The model the budget is scoped to, if any.")
@click.option("--as-of", help="Answer for this moment: 30m, 2h, 7d or an ISO date/time (default now).")
@output_options
@click.pass_context
def budget_show(ctx: click.Context, scope: str, tenant: str | None, model: str | None, as_of: str | None) -> Any:
    """Limit, spend this period, remaining, and other currencies unconverted, now or as of a moment.

    \b
    Examples:
      agenttrail budget show --tenant acme --scope agent:billing-bot
      agenttrail budget show --scope tenant:acme --as-of 2026-11-01T12:00:00Z
    """
    params = {"tenant": _tenant_for(scope, tenant), "scope": scope, "model": model,
              "as_of": parse_time(as_of, label="--as-of").isoformat() if as_of else None}
    return QueryClient(settings_from(ctx)).query("budget_status", params)


@click.command()
@click.option("--kind", help="Only this kind, e.g. budget.threshold or budget.forecast.")
@listing_filters
@output_options
@click.pass_context
def alerts(ctx: click.Context, kind: str | None, **filters: Any) -> Any:
    """Alerts raised on the stream, newest first, with who spent it and the evidence events.

    \b
    Examples:
      agenttrail alerts --since 1h
      agenttrail alerts --tenant acme --kind budget.threshold --json
    """
    return QueryClient(settings_from(ctx)).query("alerts", filter_params(kind=kind, **filters))


@click.command()
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]), help="Only deliveries in this state.")
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True)
@output_options
@click.pass_context
def webhooks(ctx: click.Context, status: str | None, limit: int) -> Any:
    """The webhook delivery log: each alert sent to each endpoint, attempts and the last answer.

    \b
    Examples:
      agenttrail webhooks --status failed
      agenttrail webhooks --json
    """
    return QueryClient(settings_from(ctx)).query("webhook_deliveries", {"status": status, "limit": str(limit)})
