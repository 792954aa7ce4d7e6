"""``POST /v1/traces``: OTLP/HTTP trace ingest, as the OpenTelemetry protocol specifies it.

Any OpenTelemetry SDK or Collector exports here with ``OTEL_EXPORTER_OTLP_ENDPOINT``
pointed at ``agenttrail serve`` and ``OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>``.
Bodies are ``application/x-protobuf`` or ``application/json`` (OTLP's JSON: hex trace and
span ids), optionally gzip- (or deflate-) encoded, decoded with the official ``opentelemetry-proto``
messages. The answer has the request's content type: an ``ExportTraceServiceResponse``
whose ``partial_success`` counts the spans that were refused and why (a message with no
count is a warning: something was redacted or cut); a failure is a ``google.rpc.Status``
with 400 (undecodable), 401 (no valid ingest token), 413, 415 or 503 (retry, with
Retry-After). An ingest token pins its tenant; it reads nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import zlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.concurrency import run_in_threadpool

from agenttrail._exceptions import IngestError
from agenttrail.callers import IngestTokens
from agenttrail.ingest import IngestResult, SpanIngest

PROTOBUF, JSON = "application/x-protobuf", "application/json"
RETRY_AFTER_S = 1
# google.rpc.Code for each answer (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto)
_RPC_CODES = {400: 3, 401: 16, 413: 8, 415: 3, 503: 14}
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def otlp_router(ingest: SpanIngest, tokens: IngestTokens, *, max_body_bytes: int) -> APIRouter:
    router = APIRouter()

    @router.post("/v1/traces")
    async def post_traces(request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        answer_as = JSON if media == JSON else PROTOBUF
        token = tokens.identify(request.headers.get("authorization"))
        if token is None:
            return _failure(answer_as, 401, "A valid ingest token is required (Authorization: Bearer <token>, "
                                            "one of AGENTTRAIL_INGEST_TOKENS).", {"WWW-Authenticate": "Bearer"})
        try:
            body = await _body(request, max_body_bytes)
            peer = request.client.host if request.client else None
            result = await run_in_threadpool(_ingest, ingest, token.tenant, media, body,
                                             request.headers.get("content-encoding", ""), max_body_bytes, peer)
        except IngestError as exc:
            retry = {"Retry-After": str(RETRY_AFTER_S)} if exc.status == 503 else {}
            return _failure(answer_as, exc.status, str(exc), retry)
        return _encode(answer_as, _response(result))

    return router


def _ingest(ingest: SpanIngest, tenant: str, media: str, body: bytes, encoding: str, max_bytes: int,
            peer: str | None) -> IngestResult:
    started = time.perf_counter()
    request = decode_request(media, body, encoding, max_bytes)
    return ingest.ingest(tenant, request, peer, decode_s=time.perf_counter() - started)


def decode_request(media: str, body: bytes, encoding: str, max_bytes: int) -> ExportTraceServiceRequest:
    """The request message; IngestError (400, 413 or 415) says why it cannot be read."""
    if media not in (PROTOBUF, JSON):
        raise IngestError(f"Content-Type {media or '(none)'!r} is not OTLP: send {PROTOBUF} or {JSON}.", 415)
    body = _decompressed(body, encoding.strip().lower(), max_bytes)
    try:
        if media == PROTOBUF:
            return ExportTraceServiceRequest.FromString(body)
        return json_format.ParseDict(_binary_ids(json.loads(body)), ExportTraceServiceRequest(),
                                     ignore_unknown_fields=True)
    except (ProtobufDecodeError, json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
        kind = "protobuf" if media == PROTOBUF else "JSON"
        raise IngestError(f"The body is not an OTLP ExportTraceServiceRequest in {kind}: {str(exc)[:200]}") from None


async def _body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refused (413) past ``max_bytes`` without reading the rest."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise IngestError(f"The request body is over {max_bytes} bytes; export smaller batches "
                              "or raise AGENTTRAIL_OTLP_MAX_BODY_BYTES.", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def _decompressed(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """The body gunzipped (or inflated: the Python exporter's ``deflate`` is zlib's format), at most ``max_bytes``."""
    if encoding in ("", "identity"):
        return body
    if encoding not in _WBITS:
        raise IngestError(f"Content-Encoding {encoding!r} is not supported: send gzip, deflate or none.", 415)
    inflater = zlib.decompressobj(wbits=_WBITS[encoding])
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise IngestError(f"The body is not valid {encoding}: {exc}.") from None
    if len(data) > max_bytes:
        raise IngestError(f"The request body is over {max_bytes} bytes once decompressed; export smaller batches "
                          "or raise AGENTTRAIL_OTLP_MAX_BODY_BYTES.", 413)
    return data


def _binary_ids(document: Any) -> Any:
    """OTLP's JSON writes trace and span ids in hex where protobuf's JSON mapping expects base64."""
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for holder in (span, *span.get("links", [])):
                    for name in _ID_FIELDS:
                        if holder.get(name):
                            holder[name] = _hex_to_base64(holder[name])
    return document


def _hex_to_base64(value: str) -> str:
    try:
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    except (ValueError, TypeError, binascii.Error):
        raise ValueError(f"id {str(value)[:40]!r} is not hex") from None


def _response(result: IngestResult) -> ExportTraceServiceResponse:
    response = ExportTraceServiceResponse()
    if result.rejected or result.notes:
        reasons = sorted(set(result.rejected)) + sorted(result.notes)
        response.partial_success.CopyFrom(ExportTracePartialSuccess(
            rejected_spans=len(result.rejected), error_message="; ".join(reasons)[:2000]))
    return response


def _failure(media: str, status: int, message: str, headers: dict[str, str]) -> Response:
    return _encode(media, Status(code=_RPC_CODES.get(status, 2), message=message), status, headers)


def _encode(media: str, message: Message, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json_format.MessageToJson(message, indent=None).encode() if media == JSON else message.SerializeToString()
    return Response(body, status_code=status, media_type=media, headers=headers)
