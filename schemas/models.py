"""Pydantic mirrors of the Avro contract, for validated construction in Python.

The .avsc files are the source of truth; ``tests/test_models_mirror_schema.py``
proves these models agree with the newest version field by field. A personal value
is given in the clear: the SDK seals it (``schemas/sealing.py``) when it sends. ``to_avro()`` yields the
dict the codec encodes. Money is ``Decimal`` with at most 9 decimal places;
floats are refused because a float cannot hold most cent amounts exactly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agenttrail.schemas.fingerprints import FINGERPRINT_PATTERN

PrincipalKind = Literal["human", "agent", "service"]
Phase = Literal["completed", "started"]
Outcome = Literal["success", "failure", "denied", "pending"]

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Agent(_Model):
    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    model: str | None = None
    runtime: str | None = None
    region: str = Field(min_length=1)


class Sealed(_Model):
    """A personal value encrypted under its subject's data key (``schemas/sealing.py``)."""

    key_id: str = Field(pattern=r"^[0-9a-f]{24}$")
    nonce: bytes = Field(min_length=12, max_length=12)
    ciphertext: bytes = Field(min_length=16)


class Principal(_Model):
    kind: PrincipalKind
    id: str = Field(min_length=1)
    sealed: Sealed | None = None


class Actor(_Model):
    kind: PrincipalKind
    id: str = Field(min_length=1)
    sealed: Sealed | None = None


class Resource(_Model):
    kind: str
    id: str
    region: str | None = None


class Action(_Model):
    type: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
    name: str
    phase: Phase = "completed"
    resource: Resource | None = None


class Error(_Model):
    code: str
    message: str


class Credential(_Model):
    token_id: str | None = None
    fingerprint: str = Field(pattern=FINGERPRINT_PATTERN.pattern)
    issuer: str | None = None
    scopes: list[str] = Field(default_factory=list)
    parent_fingerprint: str | None = Field(default=None, pattern=FINGERPRINT_PATTERN.pattern)


def refuse_float_money(value: Any) -> Any:
    """A ``mode="before"`` validator for money fields: a float cannot hold most cent amounts exactly."""
    if isinstance(value, float):
        raise ValueError("money must be a Decimal or a string, never a float")
    return value


class Cost(_Model):
    amount: Decimal = Field(max_digits=38, decimal_places=9)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    input_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)

    _no_floats = field_validator("amount", mode="before")(refuse_float_money)


class Integrity(_Model):
    stream_id: str
    seq: int = Field(ge=0)
    prev_hash: str | None = None


class AgentAction(_Model):
    event_id: str = Field(min_length=1)
    occurred_at: datetime
    tenant: str = Field(min_length=1)
    agent: Agent
    principal: Principal
    actor_chain: list[Actor] = Field(default_factory=list)
    session_id: str | None = None
    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    parent_event_id: str | None = None
    action: Action
    outcome: Outcome = "success"
    error: Error | None = None
    duration_us: int | None = Field(default=None, ge=0)
    credential: Credential | None = None
    cost: Cost | None = None
    data_region: str | None = None
    source_address: str | None = None
    source_address_sealed: Sealed | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    integrity: Integrity

    @field_validator("occurred_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a timezone")
        return value.astimezone(UTC)

    @field_validator("trace_id")
    @classmethod
    def _trace_hex(cls, value: str) -> str:
        if not _HEX32.match(value):
            raise ValueError("trace_id must be 32 lowercase hex characters (OpenTelemetry)")
        return value

    @field_validator("span_id", "parent_span_id")
    @classmethod
    def _span_hex(cls, value: str | None) -> str | None:
        if value is not None and not _HEX16.match(value):
            raise ValueError("span ids must be 16 lowercase hex characters (OpenTelemetry)")
        return value

    def to_avro(self) -> dict[str, Any]:
        """The plain dict the codec encodes (datetimes and Decimals kept as such)."""
        return self.model_dump()
