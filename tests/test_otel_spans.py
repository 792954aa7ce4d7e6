"""The span -> AgentAction mapping on its own: what each GenAI convention becomes, and what never passes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from agenttrail.producers.otel_spans import MAX_ATTRIBUTES, MAX_VALUE, SpanSource, map_request
from agenttrail.schemas.codec import default_codec
from agenttrail.schemas.models import AgentAction

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
END_NS = int((NOW - timedelta(seconds=1)).timestamp() * 1e9)
SOURCE = SpanSource("acme", "10.0.0.7", NOW, timedelta(minutes=5), lambda agent: f"otlp/acme/{agent}/test")


def value(v: Any) -> AnyValue:
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, bytes):
        return AnyValue(bytes_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[value(x) for x in v]))
    if isinstance(v, dict):
        return AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=value(x)) for k, x in v.items()]))
    return AnyValue(string_value=v)


def span(attributes: dict[str, Any], *, span_id: bytes = b"\x01" * 8, parent: bytes = b"", end_ns: int = END_NS,
         kind: int = Span.SPAN_KIND_INTERNAL, name: str = "a span", status: int = Status.STATUS_CODE_UNSET,
         trace_id: bytes = b"\x0a" * 16) -> Span:
    return Span(trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name, kind=kind,  # type: ignore[arg-type]
                start_time_unix_nano=max(end_ns - 2_000_000, 0), end_time_unix_nano=end_ns, status=Status(code=status),  # type: ignore[arg-type]
                attributes=[KeyValue(key=k, value=value(v)) for k, v in attributes.items()])


def mapped(*spans: Span, resource: dict[str, Any] | None = None) -> Any:
    request = ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=[KeyValue(key=k, value=value(v)) for k, v in (resource or {
            "service.name": "planner", "cloud.region": "eu-west-1"}).items()]),
        scope_spans=[ScopeSpans(spans=list(spans))])])
    return map_request(request, SOURCE)


def test_each_genai_operation_and_span_kind_becomes_an_action_type() -> None:
    cases = {"chat": "llm.call", "text_completion": "llm.call", "generate_content": "llm.call",
             "embeddings": "llm.embed", "retrieval": "retrieval.query", "execute_tool": "tool.call",
             "invoke_agent": "agent.run", "create_agent": "agent.create", "invoke_workflow": "workflow.run",
             "plan": "agent.plan", "Re-Rank!": "genai.re_rank_"}
    for operation, action_type in cases.items():
        [event] = mapped(span({"gen_ai.operation.name": operation})).events
        assert event["action"]["type"] == action_type, operation
    for kind, action_type in ((Span.SPAN_KIND_CLIENT, "otel.client"), (Span.SPAN_KIND_SERVER, "otel.server"),
                              (Span.SPAN_KIND_UNSPECIFIED, "otel.internal")):
        [event] = mapped(span({"http.request.method": "GET"}, kind=kind)).events
        assert event["action"]["type"] == action_type


def test_deprecated_usage_and_provider_names_are_still_priced_and_every_event_fits_the_contract() -> None:
    result = mapped(span({"gen_ai.operation.name": "chat", "gen_ai.system": "openai",
                          "gen_ai.request.model": "gpt-4o", "gen_ai.usage.prompt_tokens": 1000,
                          "gen_ai.usage.completion_tokens": 100}),
                    span({"gen_ai.operation.name": "chat", "gen_ai.request.model": "my-own-model",
                          "gen_ai.usage.input_tokens": 7}, span_id=b"\x02" * 8, parent=b"\x01" * 8))
    priced, unpriced = result.events
    assert priced["cost"]["amount"] * 1_000_000 == 1000 * 2.5 + 100 * 10
    assert "gen_ai.usage.prompt_tokens" not in priced["attributes"]
    assert unpriced["cost"] is None and unpriced["attributes"]["gen_ai.usage.input_tokens"] == "7"
    assert unpriced["parent_event_id"] == priced["event_id"] and unpriced["parent_span_id"] == "01" * 8
    for event in result.events:
        AgentAction.model_validate(event)
        default_codec().encode(event)


def test_values_are_flattened_contents_hashed_secrets_redacted_and_sizes_bounded() -> None:
    messages = '[{"role": "user", "parts": [{"type": "text", "content": "my card is 4111 1111 1111 1111"}]}]'
    attributes = {"flag": True, "count": 3, "ratio": 0.25, "list": ["a", 1], "map": {"k": "v"}, "blob": b"\x00\xff",
                  "gen_ai.input.messages": messages, "note": "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
                  "password=hunter2hunter2hunter2": "x", "agenttrail.priced_as": "forged", "long": "z" * 10_000,
                  **{f"zz.extra.{i:03d}": str(i) for i in range(200)}}
    result = mapped(span(attributes))
    [event] = result.events
    kept = event["attributes"]
    assert len(kept) == MAX_ATTRIBUTES
    assert (kept["flag"], kept["count"], kept["ratio"]) == ("true", "3", "0.25")
    assert (kept["list"], kept["map"], kept["blob"]) == ('["a",1]', '{"k":"v"}', '"AP8="')
    assert kept["gen_ai.input.messages.sha256"] == hashlib.sha256(messages.encode()).hexdigest()
    assert "4111" not in str(event) and "hunter2" not in str(event) and "forged" not in str(event)
    assert kept["note"] == "Authorization: [REDACTED]" and len(kept["long"]) == MAX_VALUE
    assert {"attribute values that looked like credentials were redacted",
            "attributes whose key looked like a credential were dropped",
            f"attributes beyond {MAX_ATTRIBUTES} per span were dropped"} <= result.notes


def test_spans_that_cannot_be_events_are_refused_with_their_reason() -> None:
    late = int((NOW + timedelta(hours=1)).timestamp() * 1e9)
    result = mapped(span({}, span_id=b"\x00" * 8), span({}, trace_id=b"\x00" * 16), span({}, end_ns=0),
                    span({}, parent=b"\x01" * 3), span({}, end_ns=late), span({}, span_id=b"\x09" * 8))
    assert len(result.events) == 1
    assert result.rejected == ["a span's span_id is not 8 bytes, or is all zeros",
                               "a span's trace_id is not 16 bytes, or is all zeros",
                               "a span has no end time", "a span's parent_span_id is not 8 bytes",
                               "a span ends more than 0:05:00 in the future"]


def test_the_resource_names_the_agent_and_an_error_status_is_a_failure() -> None:
    failing = span({"error.type": "TimeoutError", "user.id": "alice"}, status=Status.STATUS_CODE_ERROR)
    failing.status.message = "upstream took 30 s"
    [event] = mapped(failing, resource={"service.name": "svc", "gen_ai.agent.name": "Math Tutor",
                                        "gen_ai.agent.version": "3", "telemetry.sdk.language": "go",
                                        "telemetry.sdk.version": "1.30.0", "k8s.pod.name": "pod-1"}).events
    assert event["agent"] == {"id": "Math Tutor", "version": "3", "runtime": "go/opentelemetry-1.30.0",
                              "region": "unknown", "model": None}
    assert event["principal"] == {"kind": "human", "id": "alice"} and event["source_address"] == "10.0.0.7"
    assert event["outcome"] == "failure"
    assert event["error"] == {"code": "TimeoutError", "message": "upstream took 30 s"}
    assert event["attributes"]["k8s.pod.name"] == "pod-1" and "service.name" not in event["attributes"]
    assert event["integrity"]["stream_id"] == "otlp/acme/Math Tutor/test" and event["duration_us"] == 2000
