"""The operator's endpoints: ``/readyz``, ``/metrics`` and ``/v1/status``.

``/healthz`` (in ``agenttrail.api``) says the process answers; ``/readyz`` says
it is doing its job: the broker answered the last probe, the materializer has
not stopped, and it is at most ``AGENTTRAIL_MAX_LAG`` records behind. Like a
Kubernetes probe, ``/readyz`` needs no token and answers 503 with the reasons
when not ready. ``/metrics`` and ``/v1/status`` are reads (a token with
``--auth``). All three answer from the health monitor's last snapshot, never
by asking Kafka while the request waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, params
from fastapi.responses import JSONResponse, Response

from agenttrail.health import HealthMonitor, report
from agenttrail.metrics import CONTENT_TYPE, ServiceMetrics


def health_router(monitor: HealthMonitor, metrics: ServiceMetrics, stats: Callable[[], dict[str, Any]],
                  materializer_error: Callable[[], BaseException | None], *,
                  reads: list[params.Depends]) -> APIRouter:
    router = APIRouter()

    @router.get("/readyz")
    def readyz() -> JSONResponse:
        found = monitor.problems(materializer_error())
        return JSONResponse({"ready": not found, "problems": found}, status_code=503 if found else 200)

    @router.get("/metrics", dependencies=reads)
    def get_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @router.get("/v1/status", dependencies=reads)
    def get_status() -> dict[str, Any]:
        error = materializer_error()
        return report(monitor.latest, monitor.problems(error), max_lag=monitor.settings.max_lag,
                      materializer="stopped: " + str(error) if error else "running", pipeline=stats())

    return router
