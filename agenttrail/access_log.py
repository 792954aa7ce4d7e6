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

import hashlib
import threading
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from agenttrail._exceptions import AuditUnavailableError, BrokerUnavailableError
from agenttrail.config import Settings
from agenttrail.kafka import KafkaProducer, abandon_producer, make_producer, send_and_wait
from agenttrail.producers.ids import new_event_id
from agenttrail.schemas.codec import control_codec
from agenttrail.schemas.control import TrailRead, envelope
from agenttrail.schemas.fingerprints import redact_secrets

RECORDED_ROUTES = frozenset({"/v1/queries/{name}", "/v1/sql", "/v1/policy/backtest", "/v1/tokens/{fingerprint}"})
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
        self._producer: KafkaProducer | None = None
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

    def _drop(self, producer: KafkaProducer) -> None:
        with self._lock:
            if self._producer is producer:
                self._producer = None
        abandon_producer(producer)


def actor_of(authorization: str | None) -> str:
    """``service:token-<12 hex of the token's SHA-256>`` for a presented token, else ``service:anonymous``."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    return f"service:token-{hashlib.sha256(token.encode()).hexdigest()[:12]}" if token else "service:anonymous"


def record_reads(app: FastAPI, recorder: AccessRecorder) -> None:
    """Record every answered read of ``RECORDED_ROUTES`` (token status only when it reads the lineage)."""

    @app.middleware("http")
    async def _record(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", None)
        if route not in RECORDED_ROUTES or (
                route == "/v1/tokens/{fingerprint}" and request.query_params.get("lineage") != "true"):
            return response
        rows = response.headers.get(ROWS_HEADER)
        read = TrailRead(method=request.method, route=route, path=_clean(request.url.path),
                         params={k: _clean(v) for k, v in request.query_params.items()},
                         status=response.status_code, rows=int(rows) if rows else None,
                         client=request.client.host if request.client else None)
        try:
            await run_in_threadpool(recorder.record, read, tenant=request.query_params.get("tenant") or "*",
                                    actor=actor_of(request.headers.get("authorization")))
        except AuditUnavailableError as exc:
            return JSONResponse({"error": "AuditUnavailableError", "detail": str(exc)}, status_code=503)
        return response


def _clean(value: str) -> str:
    """A request value as it may be stored: credential shapes redacted, at most _MAX_VALUE characters."""
    return redact_secrets(value)[:_MAX_VALUE]
