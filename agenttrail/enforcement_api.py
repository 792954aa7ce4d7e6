"""The enforcement endpoints: revoke and reinstate (RFC 7009 in spirit), and token and agent status (RFC 7662).

``POST /v1/revoke`` takes the raw ``token`` as RFC 7009 does (form-encoded or
JSON) and fingerprints it on arrival, or a ``fingerprint``; the raw token is
never stored or logged. A change is published to the control topic fail-closed
and takes effect when the materializer stores it, so gateways polling
``GET /v1/tokens/{fingerprint}`` and SDK guards see it within the same batch; the
status is answered from the state the materializer keeps in memory, not a query.
Writes need the admin token; a malformed request gets 400 and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agenttrail.callers import Caller
from agenttrail.enforcement_state import EnforcementState
from agenttrail.queries import run_query
from agenttrail.schemas.control import (
    AgentReinstated,
    AgentSuspended,
    ControlEvent,
    ControlPayload,
    TokenReinstated,
    TokenRevoked,
)

Publish = Callable[[str, ControlPayload, str, str | None], ControlEvent]
# What the server records control events with: ([(tenant, payload), ...], actor, reason), fail-closed, in order.
Changes = Callable[[Sequence[tuple[str, ControlPayload]], str, str | None], list[ControlEvent]]
# What a token unknown to the store answers (token_status.sql), and so what another tenant's token reads as.
_NEVER_SEEN = {"active": True, "known": False}


class EnforcementRequest(BaseModel):
    """A revocation, suspension or reinstatement: exactly one of token, fingerprint or agent_id."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(default=None, min_length=1, max_length=8192)
    token_type_hint: str | None = None  # RFC 7009's optional hint; every token is treated alike
    fingerprint: str | None = None
    agent_id: str | None = Field(default=None, min_length=1, max_length=200)
    tenant: str | None = Field(default=None, min_length=1)
    reason: str = Field(min_length=1, max_length=2000)
    tree: bool = False
    actor: str = Field(default="service:http", pattern=r"^(human|agent|service):.+$")

    @model_validator(mode="after")
    def _one_subject(self) -> EnforcementRequest:
        if sum(x is not None for x in (self.token, self.fingerprint, self.agent_id)) != 1:
            raise ValueError("give exactly one of token, fingerprint or agent_id")
        if self.agent_id is not None and self.tenant is None:
            raise ValueError("an agent needs its tenant")
        return self


def enforcement_router(cursor_factory: Callable[[], duckdb.DuckDBPyConnection], *, writes: list[Any],
                       reader: Callable[..., Awaitable[Caller]], publish: Publish | None,
                       fingerprint: Callable[[str], str] | None,
                       enforcement: EnforcementState | None = None) -> APIRouter:
    """The routes; ``writes`` are the auth dependencies of changes, ``reader`` names who reads.

    ``enforcement`` is the in-force state the materializer updates after each commit: token
    status is answered from it, so gateways polling a token never queue behind ingestion. A
    tenant-scoped reader is answered only about its tenant's tokens and agents: another
    tenant's token reads as one never seen.
    """
    router = APIRouter()

    async def change(request: Request, lift: bool) -> dict[str, Any]:
        ask = await _parse(request)
        if publish is None:
            raise HTTPException(status_code=503, detail="This server records no control events.")
        payload: ControlPayload
        if ask.agent_id is not None:
            payload = AgentReinstated(agent_id=ask.agent_id) if lift else AgentSuspended(agent_id=ask.agent_id)
            tenant = ask.tenant
        else:
            fp = ask.fingerprint or fingerprint_of(ask.token or "", fingerprint)
            payload = validated_payload(TokenReinstated if lift else TokenRevoked, fingerprint=fp, tree=ask.tree)
            tenant = ask.tenant or tenant_of_token(cursor_factory, fp)
        assert tenant is not None
        event = publish(tenant, payload, ask.actor, ask.reason)
        subject = ask.agent_id or getattr(payload, "fingerprint", None)
        return {"event_id": event.event_id, "kind": event.kind, "tenant": tenant, "subject": subject}

    @router.post("/v1/revoke", dependencies=writes)
    async def post_revoke(request: Request) -> dict[str, Any]:
        """Revoke a token (``token`` or ``fingerprint``, ``tree`` for its descendants) or suspend an ``agent_id``."""
        return await change(request, lift=False)

    @router.post("/v1/reinstate", dependencies=writes)
    async def post_reinstate(request: Request) -> dict[str, Any]:
        """Lift a revocation or suspension; the history keeps both."""
        return await change(request, lift=True)

    @router.get("/v1/tokens/{fingerprint}")
    async def get_token(fingerprint: str, lineage: bool = False,
                        caller: Caller = Depends(reader)) -> dict[str, Any]:
        """Active or not, and why not (``status``, ``revoked_at``, ``reason``, ``rule_id``, ``decided_by``,
        ``root``, ``caused_by``); ``?lineage=true`` adds its parent, holder, issuer, first use and children
        from the store.

        A coroutine: the answer from memory needs no worker thread, and a query gets one.
        """
        if lineage or enforcement is None:
            row = await run_in_threadpool(_stored_status, cursor_factory, fingerprint)
            if row.get("tenant") is not None and not caller.sees(row["tenant"]):
                return {"fingerprint": fingerprint, **_NEVER_SEEN}
            return row
        notice = enforcement.revoked(fingerprint)
        if notice is None or not caller.sees(notice["tenant"]):
            return {"fingerprint": fingerprint, "active": True}
        return _jsonable({"fingerprint": fingerprint, "active": False, "status": notice["status"],
                          "revoked_at": notice["issued_at"], "reason": notice["reason"],
                          "rule_id": notice["rule_id"], "root": notice["root"],
                          # not on the topic's notices, from which a shard knows the other shards' revocations
                          "decided_by": notice.get("decided_by"),
                          "caused_by": notice.get("caused_by"),
                          "tenant": notice["tenant"]})

    @router.get("/v1/agents/{agent_id}/status")
    def get_agent(agent_id: str, tenant: str | None = None,
                  caller: Caller = Depends(reader)) -> dict[str, Any]:
        tenant = caller.scope_params("revocations", {"tenant"}, {"tenant": tenant} if tenant else {}).get("tenant")
        with cursor_factory() as cursor:
            rows = run_query(cursor, "revocations", {"subject": agent_id, "status": "in_force", "tenant": tenant,
                                                     "limit": "1"}).to_pylist()
        suspended = [row for row in rows if row["subject_kind"] == "agent"]
        if suspended:
            return _jsonable({"agent_id": agent_id, "active": False, **suspended[0]})
        # Another shard's suspension (``serve --shard`` follows their notices): what its notice says.
        notice = enforcement.suspended(agent_id) if enforcement is not None else None
        if notice is None or not caller.sees(notice["tenant"]) or tenant not in (None, notice["tenant"]):
            return {"agent_id": agent_id, "active": True}
        return _jsonable({"agent_id": agent_id, "active": False, "valid_from": notice["issued_at"],
                          **{key: notice[key] for key in ("tenant", "subject_kind", "subject", "status", "reason",
                                                          "rule_id", "root", "cause_event_id")}})

    return router


async def _parse(request: Request) -> EnforcementRequest:
    """The body, form-encoded (RFC 7009) or JSON; 400 with the first problem when it is malformed."""
    try:
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = await request.form()
            body: Any = {key: value for key, value in form.items()}
            if "tree" in body:
                body["tree"] = str(body["tree"]).lower() in ("1", "true", "yes")
        else:
            body = json.loads(await request.body() or b"null")
        return EnforcementRequest.model_validate(body)
    except (ValueError, ValidationError) as exc:  # json.JSONDecodeError is a ValueError
        raise HTTPException(status_code=400, detail=first_problem(exc)) from None


def first_problem(exc: Exception) -> str:
    """A malformed body's first problem in one phrase (``where: what``), for a 400's detail."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        return f"{where}: {str(first['msg']).removeprefix('Value error, ')}"
    return "the body is neither a form nor a JSON object"


def validated_payload(cls: type[ControlPayload], **fields: Any) -> ControlPayload:
    """``cls(**fields)``, or a 400 naming the first problem (the console's writes use it too)."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        raise HTTPException(status_code=400, detail=first_problem(exc)) from None


def fingerprint_of(raw: str, fingerprint: Callable[[str], str] | None) -> str:
    """A raw token posted to the server, fingerprinted on arrival (503 when the server has no key)."""
    if fingerprint is None:
        raise HTTPException(status_code=503, detail="This server has no fingerprint key; send the fingerprint.")
    return fingerprint(raw)


def _stored_status(cursor_factory: Callable[[], duckdb.DuckDBPyConnection], fingerprint: str) -> dict[str, Any]:
    with cursor_factory() as cursor:
        [row] = run_query(cursor, "token_status", {"fingerprint": fingerprint}).to_pylist()
    return _jsonable(row)


def tenant_of_token(cursor_factory: Callable[[], duckdb.DuckDBPyConnection], fp: str) -> str:
    """The tenant whose events used the token ``fp``; 400 when none did (the caller must name it)."""
    with cursor_factory() as cursor:
        [row] = run_query(cursor, "token_status", {"fingerprint": fp}).to_pylist()
    if row["tenant"] is None:
        raise HTTPException(status_code=400, detail="No stored event used this token, so give its tenant.")
    return str(row["tenant"])


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row.items()}
