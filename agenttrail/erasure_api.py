"""``POST /v1/erase``: erase a person over HTTP, as ``agenttrail erase`` does; the admin token only.

The body names the person in the clear (it goes no further than this process): what is
published, fail-closed, is their digest (``agenttrail.erasure``). A reason that names them
is refused with 400, like any change the contract refuses; no admin token, 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from agenttrail.enforcement_api import Publish
from agenttrail.erasure import EVERY_TENANT
from agenttrail.schemas.control import SubjectErased

# What serve gives the router: (subject, reason) -> the change (agenttrail.erasure.erasure with its key).
Erasure = Callable[[str, str], SubjectErased]


class EraseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=1000)  # human:ID, or an id
    tenant: str = Field(default=EVERY_TENANT, min_length=1)
    reason: str = Field(min_length=1, max_length=2000)
    actor: str = Field(default="service:http", pattern=r"^(human|agent|service):.+$")


def erasure_router(*, writes: list[Any], publish: Publish | None, erase: Erasure | None) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/erase", dependencies=writes, status_code=202)
    def post_erase(ask: EraseRequest) -> dict[str, str]:
        if publish is None or erase is None:
            raise HTTPException(status_code=503, detail="This server records no control events.")
        change = erase(ask.subject, ask.reason)
        event = publish(ask.tenant, change, ask.actor, ask.reason)
        return {"event_id": event.event_id, "kind": event.kind, "tenant": event.tenant,
                "subject_digest": change.subject_digest}

    return router
