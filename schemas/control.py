"""The control contract: the ControlEvent envelope and a catalogue of small payload classes, one per kind.

Governance changes (a tenant's allowed regions, budgets, acknowledgements of
anomaly flags, revocations and suspensions and their reinstatements, leak
reports, erasures of a person's data and retention periods and runs; policies as
they arrive) and reads of the trail through the server
travel on the control topic and are stored in the same total order as agent
actions, so every change is audited and a rebuild replays them
exactly. The envelope is Avro (``control_event.v1.avsc``); the
payload is the JSON of the kind's class below, validated by the producer and
again by the materializer. Kinds evolve faster than the envelope, and a new
kind is one class here instead of a new schema version.

Adding a kind: subclass ``ControlPayload``, set ``kind``, add it to ``CATALOGUE``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agenttrail._exceptions import InvalidEventError, SecretInPayloadError
from agenttrail.schemas.fingerprints import FINGERPRINT_PATTERN, looks_like_secret
from agenttrail.schemas.models import PrincipalKind, refuse_float_money

_REGION = r"^[a-z0-9][a-z0-9-]{0,62}$"


class ControlActor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: PrincipalKind
    id: str = Field(min_length=1)


class ControlEvent(BaseModel):
    """The envelope, mirroring control_event.v1.avsc field by field (a test proves it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(min_length=1)
    occurred_at: datetime
    tenant: str = Field(min_length=1)
    kind: str
    actor: ControlActor
    via: str
    reason: str | None = None
    payload: str

    def to_avro(self) -> dict[str, Any]:
        return self.model_dump()


class ControlPayload(BaseModel):
    """One kind of governance change; ``kind`` names it on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


class TenantRegionsSet(ControlPayload):
    """The regions a tenant's actions may touch; a resource or data region outside them is a violation."""

    kind: ClassVar[str] = "tenant.regions.set"
    regions: list[str] = Field(min_length=1, max_length=64)

    @field_validator("regions")
    @classmethod
    def _region_names(cls, regions: list[str]) -> list[str]:
        bad = [r for r in regions if not re.match(_REGION, r)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a region name (lowercase letters, digits and dashes)")
        return sorted(set(regions))


class TenantRegionsCleared(ControlPayload):
    """The tenant's actions may touch any region again."""

    kind: ClassVar[str] = "tenant.regions.clear"


class BudgetSet(ControlPayload):
    """A spending limit on a scope, with warning thresholds, over a calendar period (UTC) or in total.

    ``scope`` is ``tenant:T``, ``principal:P``, ``agent:A``, ``agent:*`` (the default for
    every agent without a budget of its own, so a new agent starts capped) or
    ``token:FINGERPRINT``. Spend counts only in ``currency``; other currencies are
    listed as unconverted. Setting a budget for the same scope and model replaces it.
    """

    kind: ClassVar[str] = "budget.set"
    scope: str = Field(pattern=r"^(tenant|principal|agent|token):\S{1,200}$")
    model: str | None = Field(default=None, min_length=1)
    limit: Decimal = Field(gt=0, lt=Decimal("1E15"), max_digits=38, decimal_places=9)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    period: Literal["day", "week", "month", "total"]
    thresholds: list[int] = Field(default_factory=lambda: [50, 80, 100], min_length=1, max_length=10)
    on_exceed: Literal["alert", "suspend", "revoke"] = "alert"

    _no_floats = field_validator("limit", mode="before")(refuse_float_money)

    @field_validator("thresholds")
    @classmethod
    def _percentages(cls, values: list[int]) -> list[int]:
        if any(not 1 <= v <= 1000 for v in values):
            raise ValueError("thresholds are percentages of the limit between 1 and 1000")
        return sorted(set(values))


class BudgetRemoved(ControlPayload):
    """The budget on ``scope`` (and ``model``) no longer applies."""

    kind: ClassVar[str] = "budget.remove"
    scope: str = Field(pattern=r"^(tenant|principal|agent|token):\S{1,200}$")
    model: str | None = Field(default=None, min_length=1)


class AnomalyAcknowledged(ControlPayload):
    """Someone looked at an anomaly flag and says why it needs nothing more; it is no longer open."""

    kind: ClassVar[str] = "anomaly.ack"
    flag_id: str = Field(min_length=1, max_length=1000)
    note: str = Field(min_length=1, max_length=2000)


class TokenRevoked(ControlPayload):
    """A token may no longer be used; with ``tree``, neither may any token minted from it, then or later."""

    kind: ClassVar[str] = "token.revoke"
    fingerprint: str = Field(pattern=FINGERPRINT_PATTERN.pattern)
    tree: bool = False


class TokenReinstated(ControlPayload):
    """A revocation was a mistake: the token may be used again (``tree``: so may its revoked descendants)."""

    kind: ClassVar[str] = "token.reinstate"
    fingerprint: str = Field(pattern=FINGERPRINT_PATTERN.pattern)
    tree: bool = False


class AgentSuspended(ControlPayload):
    """An agent may not act (nor its delegates) until it is reinstated."""

    kind: ClassVar[str] = "agent.suspend"
    agent_id: str = Field(min_length=1, max_length=200)


class AgentReinstated(ControlPayload):
    """A suspension is lifted."""

    kind: ClassVar[str] = "agent.reinstate"
    agent_id: str = Field(min_length=1, max_length=200)


class PolicySetLoaded(ControlPayload):
    """A policy rule file, loaded under ``name`` (replacing the set of that name): its exact text and hash.

    The materializer validates it again when it stores it; a set that fails is recorded as
    rejected and the set before it stays in force.
    """

    kind: ClassVar[str] = "policy.load"
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    text: str = Field(min_length=1, max_length=100_000)


class PolicySetRemoved(ControlPayload):
    """The rule set ``name`` no longer applies."""

    kind: ClassVar[str] = "policy.remove"
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")


class LeakReported(ControlPayload):
    """A token was found exposed, by GitHub's secret scanning partner program or by a person.

    The raw token never travels: ``fingerprint`` is our keyed fingerprint of it. ``label`` is
    what the intake answered the reporter (true_positive when stored events had carried the
    token). ``exposed_at`` is when it became public, when the reporter knows (GitHub does not
    say). The built-in rule leaked-token revokes a known token's whole tree
    (``consumers/policy/builtin.py``).
    """

    kind: ClassVar[str] = "leak.reported"
    fingerprint: str = Field(pattern=FINGERPRINT_PATTERN.pattern)
    source_url: str = Field(default="", max_length=2000)
    exposed_at: datetime | None = None
    reporter: str = Field(min_length=1, max_length=200)
    token_type: str | None = Field(default=None, max_length=200)  # GitHub's type: the pattern that matched
    found_in: str | None = Field(default=None, max_length=100)  # GitHub's source: content, commit, ...
    label: Literal["true_positive", "false_positive"]

    @field_validator("exposed_at")
    @classmethod
    def _aware(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.utcoffset() is None:
            raise ValueError("exposed_at needs a time zone (UTC: 2026-11-01T12:00:00Z)")
        return moment


class TrailRead(ControlPayload):
    """Someone read the trail through the server: the trail of the trail (``agenttrail/access_log.py``).

    ``params`` are the request's parameters as given, any credential-shaped value redacted.
    """

    kind: ClassVar[str] = "access.read"
    method: str = Field(pattern=r"^[A-Z]{3,7}$")
    route: str = Field(min_length=1, max_length=200)  # the route's template, e.g. /v1/queries/{name}
    path: str = Field(min_length=1, max_length=2000)
    params: dict[str, str] = Field(default_factory=dict)
    status: int = Field(ge=100, le=599)
    rows: int | None = Field(default=None, ge=0)
    client: str | None = Field(default=None, max_length=200)


class SubjectErased(ControlPayload):
    """A person's data keys are destroyed (crypto-shredding): every value sealed under them reads as erased.

    The person is named by their subject digest only (``schemas/sealing.py``), so the record of
    the erasure does not keep what it erases. The envelope's tenant is the tenant whose keys go,
    or ``*`` for every tenant. Keys made after the request (``occurred_at``) are new data and stay.
    """

    kind: ClassVar[str] = "subject.erase"
    subject_digest: str = Field(pattern=FINGERPRINT_PATTERN.pattern)


class RetentionSet(ControlPayload):
    """How long the tenant's events are kept: a retention run removes those received more than ``days`` before it
    (fractions of a day allowed: 0.5 is twelve hours)."""

    kind: ClassVar[str] = "retention.set"
    days: Decimal = Field(gt=0, le=36_500, max_digits=12, decimal_places=6)


class RetentionCleared(ControlPayload):
    """The tenant's events are kept without limit again."""

    kind: ClassVar[str] = "retention.clear"


class RetentionRun(ControlPayload):
    """Remove the sealed events older than their tenant's retention period (the envelope's tenant, or ``*``: every
    tenant that has one), as of when the run is stored; ``consumers/retention.py`` records what went."""

    kind: ClassVar[str] = "retention.run"


CATALOGUE: dict[str, type[ControlPayload]] = {
    cls.kind: cls for cls in (TenantRegionsSet, TenantRegionsCleared, BudgetSet, BudgetRemoved, AnomalyAcknowledged,
                              TokenRevoked, TokenReinstated, AgentSuspended, AgentReinstated, PolicySetLoaded,
                              PolicySetRemoved, LeakReported, TrailRead, SubjectErased, RetentionSet,
                              RetentionCleared, RetentionRun)
}


def parse_payload(kind: str, text: str) -> ControlPayload:
    """The payload of a control event; InvalidEventError says in one sentence what is wrong."""
    cls = CATALOGUE.get(kind)
    if cls is None:
        raise InvalidEventError(f"control kind {kind[:60]!r} is unknown; known kinds: {', '.join(sorted(CATALOGUE))}")
    try:
        return cls.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise InvalidEventError(f"{kind} payload: {where}: {first['msg']}") from None


def envelope(tenant: str, payload: ControlPayload, *, actor: str, via: str, reason: str | None,
             event_id: str, occurred_at: datetime | None = None) -> ControlEvent:
    """A validated ControlEvent; ``actor`` is ``human:ID``, ``agent:ID`` or ``service:ID``.

    Raises SecretInPayloadError when the reason, payload or actor holds a credential: the
    control topic is part of the trail, and raw secrets never enter it.
    """
    kind, _, ident = actor.partition(":")
    for label, text in (("reason", reason or ""), ("payload", payload.to_json()), ("actor", actor)):
        if looks_like_secret(text):
            raise SecretInPayloadError(f"The {label} of this {payload.kind} change looks like a raw credential; "
                                       "describe it without the secret.")
    try:
        return ControlEvent(
            event_id=event_id, occurred_at=occurred_at or datetime.now(UTC), tenant=tenant, kind=payload.kind,
            actor=ControlActor(kind=kind, id=ident), via=via, reason=reason, payload=payload.to_json(),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidEventError(f"control event {where}: {first['msg']} (actor looks like human:ID)") from None
