"""(l) OTLP ingest: spans per second through `agenttrail serve`'s ``POST /v1/traces``, and where the time goes.

The deployment shape: serve runs as its own process (HTTP, ingest, the Kafka sender, the
materializer with every projection) on the bench's broker, and this process is two OTLP
exporters sending pre-encoded protobuf requests (``otlp_spans``) as fast as serve answers,
as a Collector with two export workers does. Three clocks, from the first request:
every span accepted (HTTP 200: mapped, deduplicated, sealed and on the spool), every
span acknowledged by Kafka, and every span stored by serve's own materializer. Where
the time goes comes from serve's counters (``/v1/stats``): decode, map (GenAI
conventions, pricing, ids), dedupe (claims and the store lookup), seal (Avro encode,
hash chain, spool append) in the request threads, and produce (Kafka sends, the
sender thread), each in µs per span.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from agenttrail.bench.otlp_spans import otlp_requests
from agenttrail.bench.report import STALL_S, BenchError
from agenttrail.bench.served import START_TIMEOUT_S, served
from agenttrail.config import ENV_PREFIX, Settings

SPANS_PER_REQUEST = 512  # the OpenTelemetry SDK's BatchSpanProcessor default batch
EXPORTERS = 2
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def measure_otlp(settings: Settings, bootstrap: str, work: Path, *, spans: int,
                 on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Spans/s accepted, produced and stored through serve, and serve's time per span in each phase."""
    work.mkdir(parents=True, exist_ok=True)
    bodies = otlp_requests(spans, SPANS_PER_REQUEST)
    sent = sum(count for _, count in bodies)  # whole traces
    token, admin = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    tokens = json.dumps([{"name": "bench", "sha256": hashlib.sha256(token.encode()).hexdigest(), "tenant": "bench"}])
    env = {f"{ENV_PREFIX}API_TOKEN": admin, f"{ENV_PREFIX}INGEST_TOKENS": tokens}
    with served(settings, bootstrap, work, name="otlp", env=env) as server, \
            httpx.Client(base_url=server.url, timeout=60.0, headers={"Authorization": f"Bearer {token}"}) as client:
        operator = {"Authorization": f"Bearer {admin}"}
        _until(lambda: client.post("/v1/traces", content=b"", headers=PROTOBUF).status_code == 200,
               START_TIMEOUT_S, "serve's ingest to open")
        before = client.get("/v1/stats", headers=operator).json()
        started = time.perf_counter()
        with ThreadPoolExecutor(EXPORTERS) as pool:
            for accepted in pool.map(lambda request: _export(client, *request), bodies):
                if on_progress is not None:
                    on_progress(accepted)
        accepted_s = time.perf_counter() - started
        stats = _until(lambda: _settled(client.get("/v1/stats", headers=operator).json(), sent, "produced"),
                       STALL_S, "serve to produce every span")
        produced_s = time.perf_counter() - started
        stored = _until(lambda: _settled(client.get("/v1/stats", headers=operator).json(), sent, "stored"),
                        STALL_S + sent / 500, "serve's materializer to store every span")
        stored_s = time.perf_counter() - started
    otlp, first = stats["otlp"], before["otlp"]
    if otlp["accepted"] != sent or otlp["rejected"]:
        raise BenchError(f"serve accepted {otlp['accepted']} of {sent} spans and rejected {otlp['rejected']}.")
    phases = {phase: (seconds - first["seconds"].get(phase, 0.0)) / sent * 1e6
              for phase, seconds in otlp["seconds"].items()}
    return {
        "spans": sent, "requests": len(bodies), "spans_per_request": SPANS_PER_REQUEST, "exporters": EXPORTERS,
        "bytes_per_span": sum(len(body) for body, _ in bodies) / sent,
        "accepted_per_s": sent / accepted_s, "produced_per_s": sent / produced_s, "stored_per_s": sent / stored_s,
        "phases_us": phases,
        "serve_cpu_us": (stored["otlp"]["process_cpu_seconds"] - first["process_cpu_seconds"]) / sent * 1e6,
    }


def _export(client: httpx.Client, body: bytes, spans: int) -> int:
    """POST one request as an exporter does, retrying a 503 (Retry-After); returns its spans."""
    deadline = time.monotonic() + STALL_S
    while True:
        answer = client.post("/v1/traces", content=body, headers=PROTOBUF)
        if answer.status_code == 200:
            return spans
        if answer.status_code != 503 or time.monotonic() > deadline:
            raise BenchError(f"serve answered {answer.status_code} to an OTLP request: {answer.content[:200]!r}")
        time.sleep(float(answer.headers.get("retry-after", "1")))


def _settled(stats: dict[str, Any], spans: int, what: str) -> dict[str, Any] | None:
    """``stats`` once every span is ``produced`` (serve's spool is empty) or ``stored``, else None."""
    if what == "produced":
        done = stats["otlp"]["accepted"] >= spans and stats["otlp"]["unsent_bytes"] == 0
    else:
        done = stats["stored"] + stats["duplicates"] >= spans
    return stats if done else None


def _until(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        if time.monotonic() > deadline:
            raise BenchError(f"Timed out after {timeout_s:g} s waiting for {what}.")
        time.sleep(0.05)
    return found
