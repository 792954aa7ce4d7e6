"""OTLP ingest through a real `agenttrail serve`: the OpenTelemetry SDK exports, the trail stores its chain.

The real OpenTelemetry Python SDK and its OTLP/HTTP exporter send to serve on 127.0.0.1;
what was stored is read back through serve's own HTTP API.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status as SpanStatus
from opentelemetry.trace import StatusCode

from agenttrail.pricing import shipped_price_table
from agenttrail.producers.ids import derived_event_id
from tests.fixtures import Served, ServeFactory, wait_for

ACME_TOKEN = "ingest-acme-0123456789abcdef"
GLOBEX_TOKEN = "ingest-globex-0123456789abcdef"
INGEST_TOKENS = json.dumps([
    {"name": "acme-otel", "sha256": hashlib.sha256(ACME_TOKEN.encode()).hexdigest(), "tenant": "acme"},
    {"name": "globex-otel", "sha256": hashlib.sha256(GLOBEX_TOKEN.encode()).hexdigest(), "tenant": "globex"},
])
LEAKED = "sk-proj-" + "A" * 40


def sql(server: Served, query: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.url}/v1/sql", params={"q": query}, headers=server.admin, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def stored(server: Served) -> int:
    return int(sql(server, "SELECT count(*) AS n FROM events")[0]["n"])


def otlp_stats(server: Served) -> dict[str, Any]:
    return dict(httpx.get(f"{server.url}/v1/stats", headers=server.admin, timeout=10).json()["otlp"])


def exporter(server: Served, token: str = ACME_TOKEN) -> OTLPSpanExporter:
    return OTLPSpanExporter(endpoint=f"{server.url}/v1/traces", headers={"Authorization": f"Bearer {token}"},
                            compression=Compression.Gzip, timeout=10)


def run_agent(server: Served, monkeypatch: pytest.MonkeyPatch) -> list[ReadableSpan]:
    """An agent instrumented the OpenTelemetry way: invoke_agent > chat + two tool calls, one failing.

    Its exporter is configured as the README says, by the standard environment variables alone.
    """
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{server.url}/v1/traces")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", f"Authorization=Bearer%20{ACME_TOKEN}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip")
    kept = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({
        "service.name": "research-agent", "service.version": "2.3.0", "cloud.region": "eu-west-1",
        "cloud.provider": "aws", "host.name": "worker-7"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    provider.add_span_processor(SimpleSpanProcessor(kept))
    tracer = provider.get_tracer("acme.research", "0.9.0")
    with tracer.start_as_current_span("invoke_agent research", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "research", "user.id": "alice@acme.example"}):
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 300,
                "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text",
                                                                                   "content": "hello"}]}]),
                "http.request.header.x-debug": f"api_key={LEAKED}", "gen_ai.request.temperature": 0.2}):
            pass
        with tracer.start_as_current_span("execute_tool search_web", attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search_web"}):
            pass
        with tracer.start_as_current_span("execute_tool read_file", attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "read_file"}) as failing:
            failing.record_exception(PermissionError("bucket acme-docs is not readable"))
            failing.set_status(SpanStatus(StatusCode.ERROR, "permission denied"))
    provider.shutdown()
    return list(kept.get_finished_spans())


def test_the_sdk_exporter_stores_a_linked_priced_chain_once_however_often_it_is_exported(
        serve_factory: ServeFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve_factory(AGENTTRAIL_INGEST_TOKENS=INGEST_TOKENS)
    spans = run_agent(server, monkeypatch)
    wait_for(lambda: stored(server) >= 4, "the four spans to be stored")

    rows = {r["action_type"] + " " + r["action_name"]: r for r in sql(server, (
        "SELECT event_id, tenant, agent_id, agent_version, agent_region, agent_model, agent_runtime, principal_kind, "
        "unseal(principal_id) AS principal_id, trace_id, span_id, parent_event_id, action_type, action_name, "
        "resource_kind, resource_id, outcome, error_code, error_message, cost_amount::VARCHAR AS cost, cost_currency, "
        "input_tokens, output_tokens, attributes AS attrs, stream_id, unseal(source_address) AS source_address "
        "FROM events"))}
    root = rows["agent.run invoke_agent research"]
    chat = rows["llm.call chat gpt-4o-mini"]
    failed = rows["tool.call execute_tool read_file"]
    assert {r["tenant"] for r in rows.values()} == {"acme"}, "the token pins the tenant"
    assert {r["agent_id"] for r in rows.values()} == {"research-agent"}
    assert root["agent_version"] == "2.3.0" and root["agent_region"] == "eu-west-1"
    assert root["agent_runtime"].startswith("python") and "/opentelemetry-1." in root["agent_runtime"]
    assert root["principal_kind"] == "human" and root["principal_id"] == "alice@acme.example"
    assert root["parent_event_id"] is None
    for child in ("llm.call chat gpt-4o-mini", "tool.call execute_tool search_web", "tool.call execute_tool read_file"):
        assert rows[child]["parent_event_id"] == root["event_id"], child
        assert rows[child]["trace_id"] == root["trace_id"]
    assert root["event_id"] == derived_event_id("otlp", "acme", root["trace_id"], root["span_id"])

    # tokens, and the cost the shipped price table gives: 1200 x 0.15 + 300 x 0.60 per million
    assert (chat["input_tokens"], chat["output_tokens"]) == (1200, 300)
    assert Decimal(chat["cost"]) == Decimal("0.000360000") and chat["cost_currency"] == "USD"
    assert chat["agent_model"] == "gpt-4o-mini-2024-07-18"
    assert chat["resource_kind"] == "model" and chat["resource_id"] == "gpt-4o-mini-2024-07-18"
    assert chat["attrs"]["agenttrail.price_table"] == shipped_price_table().version
    assert chat["attrs"]["agenttrail.priced_as"] == "openai/gpt-4o-mini@2024-07-18"
    assert chat["attrs"]["gen_ai.request.temperature"] == "0.2", "unknown attributes are kept"
    assert chat["attrs"]["cloud.provider"] == "aws" and chat["attrs"]["host.name"] == "worker-7"
    assert chat["attrs"]["otel.scope.name"] == "acme.research"
    assert "gen_ai.input.messages" not in chat["attrs"] and len(chat["attrs"]["gen_ai.input.messages.sha256"]) == 64
    assert LEAKED not in json.dumps(sql(server, "SELECT * EXCLUDE (raw) FROM events"), default=str)
    assert "[REDACTED]" in chat["attrs"]["http.request.header.x-debug"]

    assert failed["outcome"] == "failure" and failed["error_code"] == "PermissionError"
    assert failed["error_message"] == "permission denied"
    assert failed["resource_kind"] == "tool" and failed["resource_id"] == "read_file"
    assert rows["tool.call execute_tool search_web"]["cost"] is None
    assert root["stream_id"].startswith("otlp/acme/research-agent/")
    assert root["source_address"] == "127.0.0.1"

    chain = sql(server, f"SELECT count(*) AS n FROM chain_nodes WHERE root_id = '{root['event_id']}'")
    assert chain[0]["n"] == 4, "the four spans are one operation chain"

    # An exporter sends the same spans again (a retry): nothing new, nothing quarantined.
    assert exporter(server).export(spans).name == "SUCCESS"
    wait_for(lambda: otlp_stats(server)["duplicates"] == 4, "the resend to be recognised")
    # ... and again after a restart, when only the store can tell.
    server.stop()
    server = serve_factory(AGENTTRAIL_INGEST_TOKENS=INGEST_TOKENS)
    assert wait_for(lambda: exporter(server).export(spans).name == "SUCCESS", "the restarted server to take spans")
    assert otlp_stats(server)["duplicates"] == 4 and otlp_stats(server)["accepted"] == 0
    assert stored(server) == 4
    assert sql(server, "SELECT count(*) AS n FROM quarantine")[0]["n"] == 0
    assert sql(server, "SELECT count(*) AS n FROM stream_gaps")[0]["n"] == 0


def _json_request(trace_id: str, span_id: str, *, name: str = "execute_tool lookup") -> dict[str, Any]:
    """An OTLP/JSON request as the specification writes it: hex ids, enum numbers, int64 as strings."""
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "billing-bot"}}]},
        "scopeSpans": [{"scope": {"name": "handmade"}, "spans": [{
            "traceId": trace_id, "spanId": span_id, "name": name, "kind": 1,
            "startTimeUnixNano": "1764892800000000000", "endTimeUnixNano": "1764892800250000000",
            "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
                           {"key": "gen_ai.tool.name", "value": {"stringValue": "lookup"}},
                           {"key": "retries", "value": {"intValue": "2"}},
                           {"key": "agenttrail.price_table", "value": {"stringValue": "forged"}}],
            "status": {}}]}]}]}


def test_json_gzip_wrong_tokens_garbage_and_bad_spans_are_answered_as_otlp_says(
        serve_factory: ServeFactory) -> None:
    server = serve_factory(AGENTTRAIL_INGEST_TOKENS=INGEST_TOKENS)
    url = f"{server.url}/v1/traces"
    body = json.dumps(_json_request("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")).encode()
    as_json = {"Content-Type": "application/json", "Authorization": f"Bearer {GLOBEX_TOKEN}"}

    admin = {"Authorization": f"Bearer {server.env['AGENTTRAIL_API_TOKEN']}"}  # names no tenant: cannot ingest
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, admin):
        refused = httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers})
        assert refused.status_code == 401 and "ingest token" in refused.json()["message"]
    garbage = httpx.post(url, content=b"\x0a\xff\xff\xff\x0f garbage",
                         headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {ACME_TOKEN}"})
    assert garbage.status_code == 400 and garbage.headers["content-type"] == "application/x-protobuf"
    assert "not an OTLP" in Status.FromString(garbage.content).message
    assert httpx.post(url, content=b"{not json", headers=as_json).status_code == 400
    assert httpx.post(url, content=body, headers={**as_json, "Content-Type": "text/plain"}).status_code == 415
    assert httpx.post(url, content=body, headers={**as_json, "Content-Encoding": "gzip"}).status_code == 400
    assert otlp_stats(server)["spans"] == 0 and stored(server) == 0, "nothing refused was stored"

    answer = httpx.post(url, content=gzip.compress(body), headers={**as_json, "Content-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert "agenttrail." in answer.json()["partialSuccess"]["errorMessage"], "a reserved key dropped: a warning"
    assert "rejectedSpans" not in answer.json()["partialSuccess"]
    wait_for(lambda: stored(server) == 1, "the JSON span to be stored")
    [row] = sql(server, "SELECT tenant, agent_id, action_type, action_name, trace_id, span_id, duration_us, "
                        "attributes AS attrs FROM events")
    assert (row["tenant"], row["agent_id"], row["action_type"]) == ("globex", "billing-bot", "tool.call")
    assert (row["trace_id"], row["span_id"]) == ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    assert row["duration_us"] == 250_000 and row["attrs"]["retries"] == "2"
    assert "agenttrail.price_table" not in row["attrs"]

    # One good span and two that cannot be events: the good one is stored, the others counted and explained.
    bad = _json_request("5b8efff798038103d269b633813fc60c", "0000000000000000", name="zero span id")
    document = json.loads(body)
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "eee19b7ec3c1b175"
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans.append(bad["resourceSpans"][0]["scopeSpans"][0]["spans"][0])
    spans.append({**spans[0], "spanId": "eee19b7ec3c1b176", "endTimeUnixNano": "0"})
    partial = httpx.post(url, content=json.dumps(document).encode(),
                         headers={"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {ACME_TOKEN}"})
    assert partial.status_code == 400, "JSON sent as protobuf does not decode"
    partial = httpx.post(url, content=json.dumps(document).encode(), headers=as_json)
    assert partial.status_code == 200
    assert partial.json()["partialSuccess"]["rejectedSpans"] == "2"
    assert "span_id" in partial.json()["partialSuccess"]["errorMessage"]
    assert "no end time" in partial.json()["partialSuccess"]["errorMessage"]
    wait_for(lambda: stored(server) == 2, "the good span of the partial request")

    proto = httpx.post(url, content=b"", headers={"Content-Type": "application/x-protobuf",
                                                   "Authorization": f"Bearer {ACME_TOKEN}"})
    assert proto.status_code == 200 and not ExportTraceServiceResponse.FromString(proto.content).HasField(
        "partial_success"), "an empty request is a success"
