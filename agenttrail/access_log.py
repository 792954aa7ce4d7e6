"""The trail of the trail: every read of stored trail data through the server is itself recorded.

Each such read becomes an ``access.read`` control event (who, which route and
parameters, the HTTP status, how many rows), published before the answer
leaves: when Kafka does not acknowledge it, the answer is a 503 and no data
(fail-closed, as Vault's audit devices are). It is stored like every control
event, in store order, hash-chained and sealed into the signed checkpoints, so
the record of who looked can no more be edited than the trail itself; no
setting turns it off. ``RECORDED_ROUTES`` are the routes that return stored
trail data. Probes, metrics and token status from memory are not recorded: an
enforcement point asks them many times a second, and they return no trail data.
"""

from __future__ import annotations

import threading

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agenttrail._exceptions import AuditUnavailableError, BrokerUnavailableError
from agenttrail.callers import Callers
from agenttrail.config import Settings
from agenttrail.kafka import Producer, abandon_producer, make_producer, send_and_wait
from agenttrail.producers.ids import new_event_id
from agenttrail.schemas.codec import control_codec
from agenttrail.schemas.control import TrailRead, envelope
from agenttrail.schemas.fingerprints import redact_secrets

RECORDED_ROUTES = frozenset({"/v1/queries/{name}", "/v1/sql", "/v1/policy/backtest", "/v1/tokens/{fingerprint}",
                             "/v1/tokens/{fingerprint}/blast-radius"})
ROWS_HEADER = "X-AgentTrail-Rows"  # set by every answer that carries rows (agenttrail.api._respond)
_MAX_VALUE = 2000


class AccessRecorder:
    """Publishes one ``access.read`` per recorded read and waits for Kafka's ack.

    One producer serves every request thread. A producer whose record went unacknowledged
    is dropped and the next read makes a new one: an idempotent producer that gave up on a
    batch cannot be trusted with the next.
    """

    def __init__(self, settings: Settings, bootstrap: str) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.topic = settings.topic("control")
        self.timeout_s = settings.delivery_timeout_ms / 1000
        self._producer: Producer | None = None
        self._lock = threading.Lock()

    def record(self, read: TrailRead, *, tenant: str, actor: str) -> None:
        """Raises AuditUnavailableError when the record was not acknowledged."""
        event = envelope(tenant, read, actor=actor, via="http", reason=None, event_id=new_event_id())
        value = control_codec().encode(event.to_avro())
        try:
            with self._lock:
                if self._producer is None:
                    self._producer = make_producer(self.settings, self.bootstrap, linger_ms=0)
                producer = self._producer
        except BrokerUnavailableError:
            acked = False
        else:
            acked = send_and_wait(producer, self.topic, [(tenant.encode("utf-8"), value)], self.timeout_s)[0]
            if not acked:
                self._drop(producer)
        if not acked:
            raise AuditUnavailableError(
                f"Kafka at {self.bootstrap} did not acknowledge the record of this read within {self.timeout_s:g} s, "
                "so its answer is withheld; retry when the broker answers.")

    def close(self) -> None:
        if self._producer is not None:
            self._drop(self._producer)

    def _drop(self, producer: Producer) -> None:
        with self._lock:
            if self._producer is producer:
                self._producer = None
        abandon_producer(producer)


class RecordReads:
    """ASGI middleware: holds a recorded route's answer until its record is acknowledged, else answers 503.

    Plain ASGI rather than Starlette's BaseHTTPMiddleware, which doubled the cost of every
    request (token status polled every 10 ms: ~1 ms -> ~2 ms each), recorded or not. The route
    is known once the router has run, so the decision is made when the answer starts.
    """

    def __init__(self, app: ASGIApp, recorder: AccessRecorder, callers: Callers,
                 routes: frozenset[str] = RECORDED_ROUTES) -> None:
        """``routes`` are the route templates whose answers carry trail data (the console adds its pages)."""
        self.app = app
        self.recorder = recorder
        self.callers = callers
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold_if_recorded(message: Message) -> None:
            if held or (message["type"] == "http.response.start" and _recorded(scope, self.routes)):
                held.append(message)
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    await self._release(scope, held, send)
            else:
                await send(message)

        await self.app(scope, receive, hold_if_recorded)

    async def _release(self, scope: Scope, held: list[Message], send: Send) -> None:
        request = Request(scope)
        start = held[0]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
        rows = headers.get(ROWS_HEADER.lower())
        read = TrailRead(method=request.method, route=_route(scope) or "", path=_clean(request.url.path),
                         params={k: _clean(v) for k, v in request.query_params.items()},
                         status=start["status"], rows=int(rows) if rows else None,
                         client=request.client.host if request.client else None)
        caller = scope.get("state", {}).get("caller")  # set by a route that knew its caller another way
        if caller is None:
            caller = self.callers.identify(request.headers.get("authorization"))
        tenant = request.query_params.get("tenant") or (caller.tenant if caller is not None else None) or "*"
        try:
            await run_in_threadpool(self.recorder.record, read, tenant=tenant,
                                    actor=caller.actor if caller is not None else "service:unknown-token")
        except AuditUnavailableError as exc:
            await JSONResponse({"error": "AuditUnavailableError", "detail": str(exc)}, status_code=503)(
                scope, _nothing, send)
            return
        for message in held:
            await send(message)


def _route(scope: Scope) -> str | None:
    return getattr(scope.get("route"), "path", None)


def _recorded(scope: Scope, routes: frozenset[str]) -> bool:
    """Whether this request's answer carries trail data (token status only when it reads the lineage)."""
    route = _route(scope)
    if route not in routes:
        return False
    return route != "/v1/tokens/{fingerprint}" or Request(scope).query_params.get("lineage") == "true"


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def _clean(value: str) -> str:
    """A request value as it may be stored: credential shapes redacted, at most _MAX_VALUE characters."""
    return redact_secrets(value)[:_MAX_VALUE]
