"""The HTTP API that `agenttrail serve` answers with while its materializer writes.

Reads run on their own DuckDB cursor, so they see committed batches without
blocking ingestion. Responses are JSON by default, CSV with ``?format=csv``,
and an Arrow IPC stream when the client sends ``Accept: application/vnd.apache.arrow.stream``
(the CLI does, so types such as DECIMAL survive the trip). Every state-changing
endpoint requires the API token; ``--auth`` makes reads require it too.
"""

from __future__ import annotations

import hmac
import io
import json
from collections.abc import Callable
from typing import Annotated, Any

import duckdb
import pyarrow as pa
import pyarrow.ipc
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from agenttrail._exceptions import (
    AgentTrailError,
    AuditUnavailableError,
    EventError,
    QueryError,
    UnknownQueryError,
)
from agenttrail.output import render, to_records
from agenttrail.queries import list_queries, run_query, run_sql
from agenttrail.schemas.control import ControlEvent, ControlPayload, parse_payload

ARROW_STREAM = "application/vnd.apache.arrow.stream"


Publish = Callable[[str, ControlPayload, str, str | None], ControlEvent]


class ControlChange(BaseModel):
    """The body of ``POST /v1/control/{kind}``: the payload is validated by the kind's class."""

    model_config = ConfigDict(extra="forbid")

    tenant: str = Field(min_length=1)
    actor: str = Field(pattern=r"^(human|agent|service):.+$")
    reason: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


def create_app(cursor_factory: Callable[[], duckdb.DuckDBPyConnection], *, token: str | None,
               auth_reads: bool, stats: Callable[[], dict[str, Any]] | None = None,
               publish: Publish | None = None) -> FastAPI:
    """``cursor_factory`` gives a fresh read cursor per request; ``token`` guards writes (and reads with auth).

    ``publish(tenant, payload, actor, reason)`` records a control event (fail-closed); without
    it the control endpoint answers 503.
    """
    app = FastAPI(title="AgentTrail", version="0.1.0", docs_url="/docs", redoc_url=None)

    def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
        given = (authorization or "").removeprefix("Bearer ").strip()
        if token is None or not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="A valid API token is required (Authorization: Bearer ...).")

    reads = [Depends(require_token)] if auth_reads else []

    @app.exception_handler(AgentTrailError)
    async def explain(_: Request, exc: AgentTrailError) -> JSONResponse:
        status = (404 if isinstance(exc, UnknownQueryError) else 400 if isinstance(exc, QueryError | EventError)
                  else 503 if isinstance(exc, AuditUnavailableError) else 500)
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/stats", dependencies=reads)
    def get_stats() -> dict[str, Any]:
        return stats() if stats else {}

    @app.get("/v1/queries", dependencies=reads)
    def get_queries() -> list[dict[str, Any]]:
        return [q.as_dict() for q in list_queries()]

    @app.get("/v1/queries/{name}", dependencies=reads)
    def get_query(name: str, request: Request, format: str = "json") -> Response:
        params = {k: v for k, v in request.query_params.items() if k != "format"}
        with cursor_factory() as cursor:
            return _respond(run_query(cursor, name, params), request, format)

    @app.post("/v1/control/{kind}", dependencies=[Depends(require_token)], status_code=202)
    def post_control(kind: str, change: ControlChange) -> dict[str, str]:
        if publish is None:
            raise HTTPException(status_code=503, detail="This server records no control events.")
        payload = parse_payload(kind, json.dumps(change.payload))
        event = publish(change.tenant, payload, change.actor, change.reason)
        return {"event_id": event.event_id, "kind": event.kind, "tenant": event.tenant}

    @app.get("/v1/sql", dependencies=reads)
    def get_sql(request: Request, q: Annotated[str, Query(max_length=20_000)], format: str = "json") -> Response:
        with cursor_factory() as cursor:
            return _respond(run_sql(cursor, q), request, format)

    return app


def _respond(table: pa.Table, request: Request, fmt: str) -> Response:
    if ARROW_STREAM in request.headers.get("accept", ""):
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return Response(sink.getvalue(), media_type=ARROW_STREAM)
    if fmt == "csv":
        text = io.StringIO()
        render(table, "csv", stream=text)
        return Response(text.getvalue(), media_type="text/csv")
    return JSONResponse(to_records(table))
