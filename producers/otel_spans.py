"""OpenTelemetry spans to AgentAction events (the OTLP ingest's mapping; no I/O).

Follows the GenAI semantic conventions (gen_ai.*, development status, as of the
open-telemetry/semantic-conventions-genai registry): ``gen_ai.operation.name`` picks the
action type, the span's name is the action's name, ``gen_ai.usage.*`` tokens become an
exact cost through the price table (``agenttrail.pricing``), and the resource's
``service.*``, ``cloud.region`` and ``telemetry.sdk.*`` say which agent acted, where and
on what. The ids are derived, never drawn: an event's id is a function of (tenant,
trace id, span id), so a span exported twice is the same event, and a child's
``parent_event_id`` follows from its parent span id even when the parent arrives later.

What is kept: every other span and resource attribute, flattened to text (arrays and
maps as JSON), at most MAX_ATTRIBUTES of them and MAX_VALUE characters each. What is
not: message and tool-call contents (``gen_ai.input.messages`` and the like) are
recorded as their SHA-256 only, since an audit trail records what an agent did, not
its conversations; values shaped like credentials are redacted, keys shaped like them
dropped; keys under ``agenttrail.`` are AgentTrail's own and dropped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from agenttrail.pricing import INPUT_TOKENS_ATTRIBUTE, OUTPUT_TOKENS_ATTRIBUTE, RESERVED_PREFIX, price_usage
from agenttrail.producers.ids import derived_event_id
from agenttrail.schemas.fingerprints import looks_like_secret, redact_secrets

MAX_ATTRIBUTES = 128
MAX_VALUE = 4096
MAX_NAME = 300
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_VERB = re.compile(r"[^a-z0-9_]")
_KEYS: dict[str, str | None] = {}  # attribute key -> why it is dropped, or None (see _judge_key)
_KEYS_REMEMBERED = 10_000

# gen_ai.operation.name -> action type (the SDK's verbs where one exists)
OPERATIONS = {
    "chat": "llm.call", "text_completion": "llm.call", "generate_content": "llm.call",
    "embeddings": "llm.embed", "retrieval": "retrieval.query", "execute_tool": "tool.call",
    "invoke_agent": "agent.run", "create_agent": "agent.create", "invoke_workflow": "workflow.run",
    "plan": "agent.plan",
}
_KINDS: dict[int, str] = {Span.SPAN_KIND_SERVER: "server", Span.SPAN_KIND_CLIENT: "client",
                          Span.SPAN_KIND_PRODUCER: "producer", Span.SPAN_KIND_CONSUMER: "consumer"}  # else internal
# Recorded as "<key>.sha256": conversation and tool-call contents.
CONTENT_KEYS = frozenset({
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result", "gen_ai.tool.definitions", "gen_ai.retrieval.documents", "gen_ai.retrieval.query.text",
    "gen_ai.prompt", "gen_ai.completion",
})
# Token counts become the cost (or, unpriced, the two OpenTelemetry attributes again).
_USAGE_KEYS = frozenset({INPUT_TOKENS_ATTRIBUTE, OUTPUT_TOKENS_ATTRIBUTE, "gen_ai.usage.prompt_tokens",
                         "gen_ai.usage.completion_tokens"})
# Resource attributes that become the agent's identity instead of attributes.
_IDENTITY_KEYS = frozenset({"service.name", "service.version", "cloud.region", "gen_ai.agent.id",
                            "gen_ai.agent.name", "gen_ai.agent.version", "telemetry.sdk.language",
                            "telemetry.sdk.version", "telemetry.sdk.name", "process.runtime.name",
                            "process.runtime.version"})


@dataclass(frozen=True)
class SpanSource:
    """Where a request came from: the tenant its token pins, the exporter's address, when it arrived."""

    tenant: str
    peer: str | None
    received_at: datetime
    future_skew: timedelta
    stream_for: Callable[[str], str]  # agent id -> the stream the server seals its spans into


@dataclass
class MappedSpans:
    events: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # one reason per span that cannot be an event
    notes: set[str] = field(default_factory=set)  # what was changed on the way in (redacted, truncated…)


def map_request(request: ExportTraceServiceRequest, source: SpanSource) -> MappedSpans:
    """Every span of the request as an event, or the reason it cannot be one."""
    mapped = MappedSpans()
    for resource_spans in request.resource_spans:
        resource = _flat(resource_spans.resource.attributes, mapped.notes)
        identity = _identity(resource)
        kept = {k: v for k, v in resource.items() if k not in _IDENTITY_KEYS}
        stream_id = source.stream_for(identity["id"])
        for scope_spans in resource_spans.scope_spans:
            scope = {"otel.scope.name": scope_spans.scope.name, "otel.scope.version": scope_spans.scope.version}
            base = {**kept, **{k: v for k, v in scope.items() if v}}
            for span in scope_spans.spans:
                problem = _problem(span, source)
                if problem is not None:
                    mapped.rejected.append(problem)
                    continue
                mapped.events.append(_event(span, source, identity, base, stream_id, mapped.notes))
    return mapped


def _problem(span: Span, source: SpanSource) -> str | None:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return "a span's trace_id is not 16 bytes, or is all zeros"
    if len(span.span_id) != 8 or not any(span.span_id):
        return "a span's span_id is not 8 bytes, or is all zeros"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return "a span's parent_span_id is not 8 bytes"
    if not span.end_time_unix_nano:
        return "a span has no end time"
    if _time(span.end_time_unix_nano) > source.received_at + source.future_skew:
        return f"a span ends more than {source.future_skew} in the future"
    return None


def _event(span: Span, source: SpanSource, identity: dict[str, Any], base: dict[str, str], stream_id: str,
           notes: set[str]) -> dict[str, Any]:
    attributes = _flat(span.attributes, notes)
    operation = attributes.get("gen_ai.operation.name")
    action_type = _action_type(operation, span.kind)
    model = attributes.get("gen_ai.response.model") or attributes.get("gen_ai.request.model")
    occurred_at = _time(span.end_time_unix_nano)
    trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
    parent_span_id = span.parent_span_id.hex() if any(span.parent_span_id) else None
    kept = {**base, **{k: v for k, v in attributes.items() if k not in _USAGE_KEYS}}
    cost = None
    tokens_in = _count(attributes, INPUT_TOKENS_ATTRIBUTE, "gen_ai.usage.prompt_tokens")
    tokens_out = _count(attributes, OUTPUT_TOKENS_ATTRIBUTE, "gen_ai.usage.completion_tokens")
    if tokens_in is not None or tokens_out is not None:
        priced = price_usage(tokens_in, tokens_out, model=model, at=occurred_at,
                             provider=attributes.get("gen_ai.provider.name") or attributes.get("gen_ai.system"))
        cost = priced.cost
        kept.update(priced.attributes)
    if len(kept) > MAX_ATTRIBUTES:
        notes.add(f"attributes beyond {MAX_ATTRIBUTES} per span were dropped")
        kept = dict(sorted(kept.items())[:MAX_ATTRIBUTES])
    principal = attributes.get("user.id") or attributes.get("enduser.id")
    return {
        "event_id": derived_event_id("otlp", source.tenant, trace_id, span_id),
        "occurred_at": occurred_at,
        "tenant": source.tenant,
        "agent": {**identity, "model": model if action_type.startswith("llm.") else None},
        "principal": {"kind": "human", "id": principal} if principal else {"kind": "service", "id": identity["id"]},
        "actor_chain": [{"kind": "agent", "id": identity["id"]}],
        "session_id": attributes.get("gen_ai.conversation.id") or attributes.get("session.id"),
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent_span_id,
        "parent_event_id": derived_event_id("otlp", source.tenant, trace_id, parent_span_id)
        if parent_span_id else None,
        "action": {"type": action_type, "name": _text(span.name or operation or "span", MAX_NAME),
                   "phase": "completed", "resource": _resource(action_type, model, attributes)},
        "outcome": "failure" if span.status.code == Status.STATUS_CODE_ERROR else "success",
        "error": _error(span, attributes) if span.status.code == Status.STATUS_CODE_ERROR else None,
        "duration_us": (span.end_time_unix_nano - span.start_time_unix_nano) // 1000
        if span.start_time_unix_nano and span.end_time_unix_nano >= span.start_time_unix_nano else None,
        "credential": None,
        "cost": cost,
        "data_region": None,
        "source_address": source.peer,
        "attributes": kept,
        "integrity": {"stream_id": stream_id, "seq": 0, "prev_hash": None},
    }


def _action_type(operation: str | None, kind: Any) -> str:
    """The GenAI operation's verb (``genai.<operation>`` for one the conventions do not list); else by span kind."""
    if not operation:
        return f"otel.{_KINDS.get(kind, 'internal')}"
    return OPERATIONS.get(operation) or "genai." + (_NOT_VERB.sub("_", operation.lower())[:60] or "other")


def _identity(resource: dict[str, str]) -> dict[str, Any]:
    """Which agent: the resource's gen_ai.agent.*, else the service; its runtime from the telemetry SDK."""
    language = resource.get("process.runtime.name") or resource.get("telemetry.sdk.language")
    runtime_version = resource.get("process.runtime.version")
    sdk_version = resource.get("telemetry.sdk.version")
    parts = ["-".join(filter(None, (language, runtime_version))), f"opentelemetry-{sdk_version}" if sdk_version else ""]
    return {
        "id": _text(resource.get("gen_ai.agent.id") or resource.get("gen_ai.agent.name")
                    or resource.get("service.name") or "unknown_service", 200),
        "version": _text(resource.get("gen_ai.agent.version") or resource.get("service.version") or "unknown", 100),
        "runtime": "/".join(filter(None, parts)) or None,
        "region": _text(resource.get("cloud.region") or "unknown", 100),
    }


def _resource(action_type: str, model: str | None, attributes: dict[str, str]) -> dict[str, Any] | None:
    """What the action touched: the model, the tool, the agent invoked, the data source or the server."""
    agent = attributes.get("gen_ai.agent.id") or attributes.get("gen_ai.agent.name")
    found = None
    if action_type.startswith("llm.") and model:
        found = ("model", model)
    elif action_type == "tool.call" and attributes.get("gen_ai.tool.name"):
        found = ("tool", attributes["gen_ai.tool.name"])
    elif action_type.startswith("agent.") and agent:
        found = ("agent", agent)
    elif action_type == "retrieval.query" and attributes.get("gen_ai.data_source.id"):
        found = ("data_source", attributes["gen_ai.data_source.id"])
    elif attributes.get("server.address"):
        found = ("api", attributes["server.address"])
    return {"kind": found[0], "id": _text(found[1], MAX_NAME), "region": None} if found else None


def _error(span: Span, attributes: dict[str, str]) -> dict[str, str]:
    """The span's error: error.type (or the exception event's type), and its status message."""
    exception: dict[str, str] = {}
    for event in span.events:
        if event.name == "exception":
            exception = _flat(event.attributes, set())
            break
    code = attributes.get("error.type") or exception.get("exception.type") or "STATUS_CODE_ERROR"
    message = span.status.message or exception.get("exception.message") or ""
    return {"code": _text(code, 200), "message": _text(message, 2000)}


def _flat(pairs: Iterable[KeyValue], notes: set[str]) -> dict[str, str]:
    """OpenTelemetry attributes as the event's string map (see the module docstring for what changes)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key = pair.key
        refused = _KEYS[key] if key in _KEYS else _judge_key(key)
        if refused:
            notes.add(refused)
            continue
        value = _as_text(pair.value)
        if key in CONTENT_KEYS:
            out[key + ".sha256"] = hashlib.sha256(value.encode("utf-8")).hexdigest()
            continue
        if looks_like_secret(value):
            notes.add("attribute values that looked like credentials were redacted")
            value = redact_secrets(value)
        if len(value) > MAX_VALUE:
            notes.add(f"attribute values longer than {MAX_VALUE} characters were cut")
            value = value[:MAX_VALUE]
        out[key[:MAX_NAME]] = value
    return out


def _judge_key(key: str) -> str | None:
    """Why an attribute key is dropped (None: kept); remembered, since a service sends few distinct keys."""
    if key.startswith(RESERVED_PREFIX):
        verdict: str | None = f"attributes under {RESERVED_PREFIX!r} are AgentTrail's own and were dropped"
    elif looks_like_secret(key):
        verdict = "attributes whose key looked like a credential were dropped"
    else:
        verdict = None
    if len(_KEYS) < _KEYS_REMEMBERED:
        _KEYS[key] = verdict
    return verdict


def _as_text(value: AnyValue) -> str:
    """A value as JSON writes it (true, 42, 0.7, ["stop"]), a string as itself."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return str(value.int_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind is None:
        return ""
    return json.dumps(_native(value), ensure_ascii=False, separators=(",", ":"))


def _native(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_native(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _native(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return getattr(value, kind) if kind else None


def _count(attributes: dict[str, str], key: str, deprecated: str) -> int | None:
    text = attributes.get(key) or attributes.get(deprecated)
    return int(text) if text is not None and text.isdigit() else None


def _text(value: str, limit: int) -> str:
    return (redact_secrets(value) if looks_like_secret(value) else value)[:limit]


def _time(unix_nano: int) -> datetime:
    return _EPOCH + timedelta(microseconds=unix_nano // 1000)
