"""From Kafka records to rows: decode, check the contract's semantic rules, flatten.

Anything that cannot become an event becomes a quarantine row with its reason;
nothing is dropped silently. A value that looks like a raw secret makes the
whole record quarantined *redacted*: only the SHA-256 of the original bytes is
kept, never the bytes.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from agenttrail._exceptions import DecodeError, UnknownSchemaError
from agenttrail.consumers.currencies import ISO_4217
from agenttrail.schemas.codec import HEADER_BYTES, Codec
from agenttrail.schemas.fingerprints import FINGERPRINT_PATTERN, SECRET_CANDIDATES_RE2, looks_like_secret

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_ACTION_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")

# No one action costs this much in any currency; larger amounts are refused before they can overflow
# DECIMAL(38,9) sums and products on the ingest path (which would stop it for every tenant).
MAX_COST = Decimal("1E15")

EVENT_COLUMNS = (
    "store_seq", "event_id", "received_at", "occurred_at", "tenant", "agent_id", "agent_version",
    "agent_model", "agent_runtime", "agent_region", "principal_kind", "principal_id", "actor_chain",
    "session_id", "trace_id", "span_id", "parent_span_id", "parent_event_id", "action_type",
    "action_name", "phase", "resource_kind", "resource_id", "resource_region", "outcome",
    "error_code", "error_message", "duration_us", "token_id", "token_fingerprint", "token_issuer",
    "token_scopes", "parent_token_fingerprint", "cost_amount", "cost_currency", "input_tokens",
    "output_tokens", "data_region", "source_address", "attributes", "stream_id", "stream_seq",
    "prev_hash", "event_hash", "schema_fingerprint", "kafka_topic", "kafka_partition", "kafka_offset", "raw",
)

EVENT_ID, TENANT, ACTION_TYPE, EVENT_HASH = (
    EVENT_COLUMNS.index(c) for c in ("event_id", "tenant", "action_type", "event_hash"))


@dataclass(frozen=True)
class Rejection:
    """Why a record was quarantined; ``redacted`` means its bytes must not be kept."""

    reason: str
    detail: str
    redacted: bool = False
    event: dict[str, Any] | None = None


def check(event: dict[str, Any], received_at: datetime, future_skew: timedelta) -> Rejection | None:
    """The contract's rules a schema cannot express; None when the event is acceptable."""
    secret_at = _secret_field(event)
    if secret_at:
        return Rejection("secret", f"{secret_at} looks like a raw credential", redacted=True, event=event)
    problem = _problem(event, received_at, future_skew)
    return Rejection("invalid", problem, event=event) if problem else None


def _problem(event: dict[str, Any], received_at: datetime, future_skew: timedelta) -> str | None:
    for label, value in (("tenant", event["tenant"]), ("agent.id", event["agent"]["id"]),
                         ("principal.id", event["principal"]["id"]), ("event_id", event["event_id"])):
        if not value.strip():
            return f"{label} is empty"
    if not _ACTION_TYPE.match(event["action"]["type"]):
        return f"action.type {event['action']['type'][:80]!r} is not a dotted lowercase verb"
    if not _HEX32.match(event["trace_id"]) or not _HEX16.match(event["span_id"]):
        return "trace_id/span_id are not OpenTelemetry hex ids"
    if event["occurred_at"] > received_at + future_skew:
        return f"occurred_at {event['occurred_at'].isoformat()} is more than {future_skew} in the future"
    cost = event["cost"]
    if cost is not None:
        if cost["currency"] not in ISO_4217:
            return f"cost.currency {cost['currency'][:10]!r} is not an ISO 4217 code"
        if abs(cost["amount"]) >= MAX_COST:
            return f"cost.amount {cost['amount']:.0f} is beyond {MAX_COST:.0E}, more than any one action costs"
        if cost["amount"] < 0 and not event["action"]["type"].endswith(".refund"):
            return f"cost.amount {cost['amount']} is negative on a non-refund action"
        if any(t is not None and t < 0 for t in (cost["input_tokens"], cost["output_tokens"])):
            return "token counts are negative"
    if event["duration_us"] is not None and event["duration_us"] < 0:
        return "duration_us is negative"
    credential = event["credential"]
    if credential is not None and not FINGERPRINT_PATTERN.match(credential["fingerprint"]):
        return "credential.fingerprint is not an hmac-sha256 fingerprint (raw tokens are refused)"
    return None


def _secret_field(event: dict[str, Any]) -> str | None:
    """Where the first raw credential is, named so that the name itself holds no secret."""
    for key, value in event["attributes"].items():
        if looks_like_secret(key):
            return "an attribute key"  # quoting the key would store and dead-letter the secret itself
        if looks_like_secret(value):
            return f"attribute {key[:40]!r}"
    resource, credential = event["action"]["resource"], event["credential"]
    texts = [("action.name", event["action"]["name"]), ("resource.id", resource["id"] if resource else "")]
    if credential and credential["token_id"]:
        texts.append(("credential.token_id", credential["token_id"]))
    if event["error"]:
        texts.append(("error.message", event["error"]["message"]))
    for label, text in texts:
        if looks_like_secret(text):
            return label
    return None


def suspects(events: pa.Table, received_at: datetime, future_skew: timedelta) -> list[int]:
    """Row indexes of ``events`` (EVENT_SCHEMA) that ``check`` might reject, found column-wise.

    An over-approximation of ``check``, never its replacement: every row ``check`` rejects is
    in the answer, and ``check`` itself judges the rows that are, so reasons and details come
    from one place. Each test below mirrors one rule above and may only flag *more* rows
    (RE2's ``$`` is stricter than Python's, a value with no visible ASCII character may be
    blank, any non-ASCII text is a secret candidate). A rule added to ``check`` needs its
    mirror here, or it only runs on rows that some other mirror flags.
    """
    column = events.column
    latest = pa.scalar(received_at + future_skew, type=events.schema.field("occurred_at").type)
    masks = [
        *(pc.invert(pc.match_substring_regex(column(name), "[!-~]"))
          for name in ("tenant", "agent_id", "principal_id", "event_id")),
        pc.invert(pc.match_substring_regex(column("action_type"), _ACTION_TYPE.pattern)),
        pc.invert(pc.match_substring_regex(column("trace_id"), _HEX32.pattern)),
        pc.invert(pc.match_substring_regex(column("span_id"), _HEX16.pattern)),
        pc.greater(column("occurred_at"), latest),
        pc.and_(pc.is_valid(column("cost_currency")),
                pc.invert(pc.is_in(column("cost_currency"), value_set=pa.array(sorted(ISO_4217))))),
        *(pc.less(column(name), 0) for name in ("cost_amount", "input_tokens", "output_tokens", "duration_us")),
        pc.greater_equal(pc.abs(column("cost_amount")), pa.scalar(MAX_COST, column("cost_amount").type)),
        pc.invert(pc.match_substring_regex(column("token_fingerprint"), FINGERPRINT_PATTERN.pattern)),
        *(pc.match_substring_regex(column(name), SECRET_CANDIDATES_RE2)
          for name in ("action_name", "resource_id", "token_id", "error_message")),
    ]
    flagged = pc.fill_null(functools.reduce(pc.or_kleene, masks), False)
    rows = set(pc.indices_nonzero(flagged).to_pylist())
    first = 0
    for chunk in column("attributes").chunks:  # MapArrays; offsets index into all of .keys/.items
        for part in (chunk.keys, chunk.items):
            texts = pa.ListArray.from_arrays(chunk.offsets, part)
            secret = pc.match_substring_regex(texts.flatten(), SECRET_CANDIDATES_RE2)
            rows.update(pc.add(pc.filter(texts.value_parent_indices(), secret), first).to_pylist())
        first += len(chunk)
    return sorted(rows)


def flatten(event: dict[str, Any], raw: bytes, store_seq: int, received_at: datetime,
            topic: str, partition: int, offset: int) -> tuple[Any, ...]:
    """One events row, in EVENT_COLUMNS order."""
    agent, principal, action = event["agent"], event["principal"], event["action"]
    resource, error, credential, cost = action["resource"], event["error"], event["credential"], event["cost"]
    integrity = event["integrity"]
    return (
        store_seq, event["event_id"], received_at, event["occurred_at"], event["tenant"],
        agent["id"], agent["version"], agent["model"], agent["runtime"], agent["region"],
        principal["kind"], principal["id"], [{"kind": a["kind"], "id": a["id"]} for a in event["actor_chain"]],
        event["session_id"],
        event["trace_id"], event["span_id"], event["parent_span_id"], event["parent_event_id"],
        action["type"], action["name"], action["phase"],
        resource["kind"] if resource else None, resource["id"] if resource else None,
        resource["region"] if resource else None,
        event["outcome"], error["code"] if error else None, error["message"] if error else None,
        event["duration_us"],
        credential["token_id"] if credential else None, credential["fingerprint"] if credential else None,
        credential["issuer"] if credential else None, credential["scopes"] if credential else None,
        credential["parent_fingerprint"] if credential else None,
        cost["amount"] if cost else None, cost["currency"] if cost else None,
        cost["input_tokens"] if cost else None, cost["output_tokens"] if cost else None,
        event["data_region"], event["source_address"], list(event["attributes"].items()),
        integrity["stream_id"], integrity["seq"], integrity["prev_hash"],
        hashlib.sha256(raw).hexdigest(), raw[2:HEADER_BYTES].hex(), topic, partition, offset, raw,
    )


def decode(codec: Codec, raw: bytes | None) -> tuple[dict[str, Any] | None, Rejection | None]:
    """The decoded event, or why it cannot be decoded."""
    if raw is None:
        return None, Rejection("undecodable", "empty record (tombstone) on the actions topic")
    try:
        return codec.decode(raw), None
    except UnknownSchemaError as exc:
        return None, Rejection("unknown_schema", str(exc))
    except DecodeError as exc:
        return None, Rejection("undecodable", str(exc))


def quarantine_row(rejection: Rejection, raw: bytes | None, received_at: datetime,
                   topic: str, partition: int, offset: int) -> dict[str, Any]:
    event = rejection.event or {}
    data = raw or b""
    return {
        "received_at": received_at, "kafka_topic": topic, "kafka_partition": partition,
        "kafka_offset": offset, "reason": rejection.reason, "detail": rejection.detail[:1000],
        "event_id": event.get("event_id"), "tenant": event.get("tenant"),
        "raw": None if rejection.redacted else data, "raw_sha256": hashlib.sha256(data).hexdigest(),
        "redacted": rejection.redacted,
    }


def conflict(event_id: str, tenant: str) -> Rejection:
    """An event id seen before with different bytes: never silently skipped."""
    return Rejection("conflicting_duplicate", f"event_id {event_id} was already stored with different bytes",
                     event={"event_id": event_id, "tenant": tenant})


def refused(event: dict[str, Any]) -> Rejection:
    """An ``audit.refused`` event stands in for one the producer refused; the refusal is quarantined too."""
    attributes = event["attributes"]
    detail = f"{attributes.get('reason', '?')}: {attributes.get('detail', '')}"
    return Rejection("refused_by_producer", detail,
                     event={"event_id": attributes.get("refused_event_id"), "tenant": event["tenant"]})
