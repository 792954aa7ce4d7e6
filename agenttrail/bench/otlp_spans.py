"""The OTLP requests stage (l) sends: GenAI agent traces, as the OpenTelemetry SDK's exporter encodes them.

Each trace is an agent invocation with a model call (token usage, so it is priced) and two
tool calls, ended in the seconds before its request is sent, from one of twenty services
whose resources carry what an SDK's do (service, cloud, host, telemetry SDK, runtime): 4
spans and about 14 attributes each. Ids are unique per run, so every span is new to the server.
"""

from __future__ import annotations

import random
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

SPANS_PER_TRACE = 4
SERVICES = 20
SCOPE = InstrumentationScope(name="bench.agents", version="1.0")


def _kv(key: str, value: str | int | float | list[str]) -> KeyValue:
    if isinstance(value, list):
        items = ArrayValue(values=[AnyValue(string_value=v) for v in value])
        return KeyValue(key=key, value=AnyValue(array_value=items))
    if isinstance(value, bool | str):
        return KeyValue(key=key, value=AnyValue(string_value=str(value)))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(double_value=value))


def _resource(service: int) -> list[KeyValue]:
    return [_kv(k, v) for k, v in {
        "service.name": f"bench-agent-{service:02d}", "service.version": "1.4.2",
        "service.instance.id": f"pod-{service}", "cloud.provider": "aws",
        "cloud.region": ("eu-west-1", "us-east-1")[service % 2], "host.name": f"node-{service}",
        "telemetry.sdk.language": "python", "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "1.45.2",
        "process.runtime.name": "cpython", "process.runtime.version": "3.12.7"}.items()]


def _trace(rng: random.Random, ends_ns: int) -> list[Span]:
    """One agent invocation whose root ends within the 5 s before ``ends_ns``."""
    trace_id = rng.randbytes(16)
    root, chat, tool1, tool2 = (rng.randbytes(8) for _ in range(4))
    start = ends_ns - 1_100_000_000 - rng.randint(0, 5_000) * 1_000_000

    def span(span_id: bytes, parent: bytes, name: str, offset_ms: int, length_ms: int,
             attributes: dict[str, str | int | float | list[str]]) -> Span:
        begin = start + offset_ms * 1_000_000
        return Span(trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name, kind=Span.SPAN_KIND_INTERNAL,
                    start_time_unix_nano=begin, end_time_unix_nano=begin + length_ms * 1_000_000,
                    attributes=[_kv(k, v) for k, v in attributes.items()])

    tokens_in, tokens_out = rng.randint(200, 8000), rng.randint(50, 2000)
    return [
        span(chat, root, "chat gpt-4o-mini", 5, 900, {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.usage.input_tokens": tokens_in,
            "gen_ai.usage.output_tokens": tokens_out, "gen_ai.request.temperature": 0.2,
            "gen_ai.response.id": f"chatcmpl-{rng.getrandbits(64):016x}", "gen_ai.response.finish_reasons": ["stop"],
            "server.address": "api.openai.com"}),
        span(tool1, root, "execute_tool search_web", 910, 120, {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search_web",
            "gen_ai.tool.call.id": f"call_{rng.getrandbits(64):016x}", "gen_ai.tool.type": "function"}),
        span(tool2, root, "execute_tool read_file", 1040, 40, {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "read_file",
            "gen_ai.tool.call.id": f"call_{rng.getrandbits(64):016x}", "gen_ai.tool.type": "function"}),
        span(root, b"", "invoke_agent support", 0, 1100, {
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support",
            "user.id": f"user-{rng.randint(1, 500)}@example.com",
            "gen_ai.conversation.id": f"conv_{trace_id.hex()[:12]}"}),
    ]


def otlp_requests(spans: int, per_request: int, *, seed: int = 9) -> list[tuple[bytes, int]]:
    """``spans`` spans (rounded up to whole traces) in serialized requests of about ``per_request`` spans each,
    with the number of spans in each."""
    rng = random.Random(seed)
    # As a live fleet's exporters send them: each request holds the spans that ended in the seconds before
    # it, and the requests move on in time (a tenth of a second each, starting a minute ago).
    first_ns = time.time_ns() - 60_000_000_000
    resources = [_resource(service) for service in range(SERVICES)]
    traces = -(-spans // SPANS_PER_TRACE)
    per_request_traces = max(1, per_request // SPANS_PER_TRACE)
    bodies = []
    for first in range(0, traces, per_request_traces):
        by_service: dict[int, list[Span]] = {}
        count = min(per_request_traces, traces - first)
        ends_ns = first_ns + first // per_request_traces * 100_000_000
        for _ in range(count):
            by_service.setdefault(rng.randrange(SERVICES), []).extend(_trace(rng, ends_ns))
        request = ExportTraceServiceRequest(resource_spans=[
            ResourceSpans(resource=Resource(attributes=resources[service]),
                          scope_spans=[ScopeSpans(scope=SCOPE, spans=found)])
            for service, found in by_service.items()])
        bodies.append((request.SerializeToString(), count * SPANS_PER_TRACE))
    return bodies
