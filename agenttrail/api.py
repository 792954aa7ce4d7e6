"""The HTTP API that `agenttrail serve` answers with while its materializer writes.

Reads run on their own DuckDB cursor, so they see committed batches without
blocking ingestion. Responses are JSON by default, CSV with ``?format=csv``,
and an Arrow IPC stream when the client sends ``Accept: application/vnd.apache.arrow.stream``
(the CLI does, so types such as DECIMAL survive the trip). Every state-changing
endpoint requires the API token; ``--auth`` makes reads require it too. The enforcement
endpoints (revoke, reinstate, token and agent status) live in ``agenttrail.enforcement_api``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

import duckdb
import pyarrow as pa
import pyarrow.ipc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from agenttrail._exceptions import (
    AgentTrailError,
    AuditUnavailableError,
    EventError,
    PolicyError,
    QueryError,
    SigningKeyError,
    UnknownQueryError,
)
from agenttrail.access_log import RECORDED_ROUTES, ROWS_HEADER, AccessRecorder, RecordReads
from agenttrail.callers import ANONYMOUS, Caller, Callers
from agenttrail.console.routes import PAGE_ROUTES, mount_console
from agenttrail.console.sessions import Sessions
from agenttrail.consumers.policy import backtest, parse_rules
from agenttrail.enforcement_api import Changes, enforcement_router
from agenttrail.enforcement_state import EnforcementState
from agenttrail.erasure_api import Erasure, erasure_router
from agenttrail.health import HealthMonitor
from agenttrail.health_api import health_router
from agenttrail.leak_api import LeakOptions, leak_router
from agenttrail.metrics import ServiceMetrics
from agenttrail.output import inert_json, render, to_records
from agenttrail.queries import get_query as get_named_query
from agenttrail.queries import list_queries, run_query, run_sql
from agenttrail.schemas.control import TrailRead, parse_payload

ARROW_STREAM = "application/vnd.apache.arrow.stream"


class InertJSONResponse(JSONResponse):
    """Every JSON answer, its stored values escaped as the CLI's JSON escapes them (``agenttrail.output``):
    attribute values are attacker-controlled, and ``curl`` prints the body to a terminal."""

    def render(self, content: Any) -> bytes:
        return inert_json(content, compact=True).encode("utf-8")



class ControlChange(BaseModel):
    """The body of ``POST /v1/control/{kind}``: the payload is validated by the kind's class."""

    model_config = ConfigDict(extra="forbid")

    tenant: str = Field(min_length=1)
    actor: str = Field(pattern=r"^(human|agent|service):.+$")
    reason: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class BacktestRequest(BaseModel):
    """The body of ``POST /v1/policy/backtest``: a rule file's text, and which stored events to judge."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1_000_000)
    since: datetime | None = None
    tenant: str = Field(default="*", min_length=1)


def create_app(cursor_factory: Callable[[], duckdb.DuckDBPyConnection], *, callers: Callers,
               auth_reads: bool, stats: Callable[[], dict[str, Any]] | None = None,
               publish: Changes | None = None, fingerprint: Callable[[str], str] | None = None,
               enforcement: EnforcementState | None = None, monitor: HealthMonitor | None = None,
               metrics: ServiceMetrics | None = None,
               materializer_error: Callable[[], BaseException | None] = lambda: None,
               recorder: AccessRecorder | None = None,
               public_key: Callable[[], Ed25519PublicKey] | None = None,
               leaks: LeakOptions | None = None, routers: Sequence[APIRouter] = (),
               erase: Erasure | None = None) -> FastAPI:
    """``cursor_factory`` gives a fresh read cursor per request; ``callers`` says who a token is and what it sees.

    Writes need the admin token; with ``auth_reads`` reads need a token too, and a tenant-scoped
    token reads only its tenant on every path (``agenttrail.callers``).
    ``publish([(tenant, payload), ...], actor, reason)`` records control events (fail-closed); without it
    the write endpoints answer 503. ``fingerprint`` turns a raw token posted to ``/v1/revoke``
    into our keyed fingerprint. ``enforcement``, kept current by the
    materializer, answers token status without a query; without it every status is read from the database.
    ``monitor`` and ``metrics`` add ``/readyz``, ``/metrics`` and ``/v1/status`` (``agenttrail.health_api``).
    ``recorder`` records every read of trail data, and withholds the answer when it cannot
    (``agenttrail.access_log``). The browser console (``agenttrail.console``) is served under ``/ui/``;
    ``public_key`` is what its event pages verify checkpoints against. ``leaks`` configures leak intake and
    blast radius (``agenttrail.leak_api``). ``routers`` are mounted as they are (the OTLP ingest:
    ``agenttrail.otlp_api``). ``erase`` makes the change ``POST /v1/erase`` publishes (``agenttrail.erasure_api``).
    """
    app = FastAPI(title="AgentTrail", version="0.1.0", docs_url="/docs", redoc_url=None,
                  default_response_class=InertJSONResponse)

    async def reader(authorization: Annotated[str | None, Header()] = None) -> Caller:
        """Who reads (async, so the in-memory token status never waits for a worker thread)."""
        caller = callers.identify(authorization)
        if caller is None or (auth_reads and caller is ANONYMOUS):
            raise HTTPException(status_code=401, detail="A valid API token is required (Authorization: Bearer ...).",
                                headers={"WWW-Authenticate": "Bearer"})
        return caller

    async def require_admin(caller: Caller = Depends(reader)) -> None:
        if not caller.admin:
            raise HTTPException(status_code=401, detail="Changes need the admin API token (Authorization: Bearer ...).",
                                headers={"WWW-Authenticate": "Bearer"})

    async def all_tenants(caller: Caller = Depends(reader)) -> None:
        caller.require_all_tenants("This endpoint")

    reads, operators = [Depends(reader)], [Depends(all_tenants)]
    leaks = leaks or LeakOptions()
    publish_one = None if publish is None else lambda tenant, payload, actor, reason: publish(
        [(tenant, payload)], actor, reason)[0]
    app.include_router(enforcement_router(cursor_factory, writes=[Depends(require_admin)], reader=reader,
                                          publish=publish_one, fingerprint=fingerprint, enforcement=enforcement))
    app.include_router(leak_router(cursor_factory, writes=[Depends(require_admin)], reader=reader, publish=publish,
                                   fingerprint=fingerprint, options=leaks))
    app.include_router(erasure_router(writes=[Depends(require_admin)], publish=publish_one, erase=erase))
    mount_console(app, cursor_factory, sessions=Sessions(callers), auth_reads=auth_reads, publish=publish_one,
                  public_key=public_key or _no_public_key, sensitive_actions=leaks.sensitive_actions)
    for router in routers:
        app.include_router(router)
    if recorder is not None:
        app.add_middleware(RecordReads, recorder=recorder, callers=callers, routes=RECORDED_ROUTES | PAGE_ROUTES)
    if monitor is not None and metrics is not None:
        app.include_router(health_router(monitor, metrics, stats or dict, materializer_error, reads=operators))

    @app.exception_handler(AgentTrailError)
    async def explain(_: Request, exc: AgentTrailError) -> JSONResponse:
        status = (404 if isinstance(exc, UnknownQueryError) else 400 if isinstance(exc, QueryError | EventError)
                  else 503 if isinstance(exc, AuditUnavailableError) else 500)
        return InertJSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/stats", dependencies=operators)
    def get_stats() -> dict[str, Any]:
        return stats() if stats else {}

    @app.get("/v1/queries", dependencies=reads)
    def get_queries() -> list[dict[str, Any]]:
        return [q.as_dict() for q in list_queries()]

    @app.get("/v1/queries/{name}")
    def get_query(name: str, request: Request, format: str = "json", caller: Caller = Depends(reader)) -> Response:
        query = get_named_query(name)
        params = caller.scope_params(query.name, {p.name for p in query.params},
                                     {k: v for k, v in request.query_params.items() if k != "format"})
        with cursor_factory() as cursor:
            return _respond(run_query(cursor, name, params), request, format)

    @app.post("/v1/control/{kind}", dependencies=[Depends(require_admin)], status_code=202)
    def post_control(kind: str, change: ControlChange) -> dict[str, str]:
        if publish_one is None:
            raise HTTPException(status_code=503, detail="This server records no control events.")
        payload = parse_payload(kind, json.dumps(change.payload))
        if isinstance(payload, TrailRead):
            raise HTTPException(status_code=400, detail="Reads are recorded by the server itself, never posted.")
        event = publish_one(change.tenant, payload, change.actor, change.reason)
        return {"event_id": event.event_id, "kind": event.kind, "tenant": event.tenant}

    @app.post("/v1/policy/backtest")
    def post_backtest(request: Request, ask: BacktestRequest, caller: Caller = Depends(reader)) -> Response:
        """What a rule file would have decided on the stored history: the same evaluation as live, into
        temp tables of this request's own cursor, so it changes nothing (``agenttrail policy backtest``)."""
        tenant = caller.scope_params("backtest", {"tenant"}, {} if ask.tenant == "*" else {"tenant": ask.tenant})
        try:
            rules = parse_rules(ask.text)
            with cursor_factory() as cursor:
                decided = backtest(cursor, rules, since=ask.since, tenant=tenant.get("tenant", "*"))
        except PolicyError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return _respond(decided, request, "json")

    @app.get("/v1/sql", dependencies=operators)
    def get_sql(request: Request, q: Annotated[str, Query(max_length=20_000)], format: str = "json") -> Response:
        """One read-only SELECT; refused to a tenant-scoped token, since SQL can name any tenant's rows."""
        with cursor_factory() as cursor:
            return _respond(run_sql(cursor, q), request, format)

    return app


def _no_public_key() -> Ed25519PublicKey:
    raise SigningKeyError("This server was given no public key to verify checkpoints against.")


def _respond(table: pa.Table, request: Request, fmt: str) -> Response:
    """``table`` as the client asked; the row count travels in a header for the record of this read."""
    rows = {ROWS_HEADER: str(table.num_rows)}
    if ARROW_STREAM in request.headers.get("accept", ""):
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return Response(sink.getvalue(), media_type=ARROW_STREAM, headers=rows)
    if fmt == "csv":
        text = io.StringIO()
        render(table, "csv", stream=text)
        return Response(text.getvalue(), media_type="text/csv", headers=rows)
    return InertJSONResponse(to_records(table), headers=rows)
