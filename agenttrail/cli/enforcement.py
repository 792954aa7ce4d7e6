"""Commands that stop tokens and agents, lift that again, and show what is stopped.

Each change is an audited control event; the materializer applies it in store
order, publishes a notice on the compacted revocations topic (which the SDK's
guard follows) and an alert to the webhooks, the token issuer's included.
"""

from __future__ import annotations

from typing import Any

import click

from agenttrail.cli.governance import change_options, publish_change, validated
from agenttrail.cli.options import filter_params, listing_filters, output_options, settings_from
from agenttrail.client import QueryClient
from agenttrail.schemas.control import AgentReinstated, AgentSuspended, ControlPayload, TokenReinstated, TokenRevoked


def _tenant_of_token(ctx: click.Context, fingerprint: str, tenant: str | None) -> str:
    """The tenant the lineage knows the token by, unless --tenant says; a token never seen needs --tenant."""
    if tenant:
        return tenant
    found = QueryClient(settings_from(ctx)).query("token_status", {"fingerprint": fingerprint})
    known = found["tenant"][0].as_py() if found.num_rows else None
    if known is None:
        raise click.UsageError(f"No stored event used token {fingerprint}, so its tenant is unknown; pass --tenant.")
    return str(known)


def _require_reason(reason: str | None) -> str:
    if not reason:
        raise click.UsageError("Say why with --reason: it is recorded with the change and sent with every notice.")
    return reason


@click.command()
@click.option("--token", "fingerprint", required=True, help="The token's fingerprint (hmac-sha256:k1:...).")
@click.option("--tree", is_flag=True, help="Also every token minted from it, now and later.")
@click.option("--tenant", help="The token's tenant (default: the one its events name).")
@change_options
@click.pass_context
def revoke(ctx: click.Context, fingerprint: str, tree: bool, tenant: str | None, actor: str, reason: str | None,
           **options: Any) -> None:
    """Revoke a token: the SDK guard refuses it, gateways see it revoked, its issuer is told.

    \b
    Examples:
      agenttrail revoke --token hmac-sha256:k1:9f2c... --tree --reason "leaked in a public gist"
      agenttrail token hmac-sha256:k1:9f2c...     # then check its status
    """
    payload = validated(TokenRevoked, fingerprint=fingerprint, tree=tree)
    publish_change(ctx, _tenant_of_token(ctx, fingerprint, tenant), payload, actor, _require_reason(reason), options)


@click.command()
@click.option("--agent", "agent_id", required=True, help="The agent id.")
@click.option("--tenant", required=True, help="The agent's tenant.")
@change_options
@click.pass_context
def suspend(ctx: click.Context, agent_id: str, tenant: str, actor: str, reason: str | None, **options: Any) -> None:
    """Suspend an agent: the SDK guard refuses every action of it and of its delegates.

    \b
    Example:
      agenttrail suspend --agent support-acme --tenant acme --reason "resending a paid call in a loop"
    """
    payload = validated(AgentSuspended, agent_id=agent_id)
    publish_change(ctx, tenant, payload, actor, _require_reason(reason), options)


@click.command()
@click.option("--token", "fingerprint", help="Lift this token's revocation.")
@click.option("--agent", "agent_id", help="Lift this agent's suspension.")
@click.option("--tree", is_flag=True, help="With --token: also the revocations its cascade started.")
@click.option("--tenant", help="The tenant (default for a token: the one its events name; required for an agent).")
@change_options
@click.pass_context
def reinstate(ctx: click.Context, fingerprint: str | None, agent_id: str | None, tree: bool, tenant: str | None,
              actor: str, reason: str | None, **options: Any) -> None:
    """Undo a revocation or suspension; the history keeps both facts.

    \b
    Examples:
      agenttrail reinstate --token hmac-sha256:k1:9f2c... --tree --reason "false positive: test token"
      agenttrail reinstate --agent support-acme --tenant acme --reason "fixed in 2.4.1"
    """
    if (fingerprint is None) == (agent_id is None):
        raise click.UsageError("Name exactly one of --token or --agent.")
    payload: ControlPayload
    if fingerprint is not None:
        payload = validated(TokenReinstated, fingerprint=fingerprint, tree=tree)
        tenant = _tenant_of_token(ctx, fingerprint, tenant)
    else:
        if not tenant:
            raise click.UsageError("Pass --tenant with --agent.")
        payload = validated(AgentReinstated, agent_id=agent_id)
    publish_change(ctx, tenant, payload, actor, _require_reason(reason), options)


@click.command()
@click.argument("fingerprint")
@output_options
@click.pass_context
def token(ctx: click.Context, fingerprint: str) -> Any:
    """A token's status (active, or revoked since when, why, by which rule), parent, holder and issuer.

    \b
    Example:
      agenttrail token hmac-sha256:k1:9f2c... --json
    """
    return QueryClient(settings_from(ctx)).query("token_status", {"fingerprint": fingerprint})


@click.command()
@click.option("--subject", help="Only this token fingerprint or agent id.")
@click.option("--in-force", "in_force", is_flag=True, help="Only those not lifted.")
@listing_filters
@output_options
@click.pass_context
def revocations(ctx: click.Context, subject: str | None, in_force: bool, **filters: Any) -> Any:
    """Revocations and suspensions, newest first: what, why, decided by whom or which rule, lifted or not.

    \b
    Examples:
      agenttrail revocations --in-force
      agenttrail revocations --subject support-acme --json
      agenttrail query used-after-revocation --since 1d    # what they tried afterwards
    """
    params = filter_params(subject=subject, status="in_force" if in_force else None, **filters)
    return QueryClient(settings_from(ctx)).query("revocations", params)
