"""The broker stops answering while exporters send spans to serve: accepted spans wait in serve's spool.

A span serve answered 200 for is on its disk and reaches the store once the broker is back;
when the spool is full serve answers 503 (retry) and the exporter's retry is stored, the
dropped attempt declared by an ``audit.gap`` in the stream, never a silent hole.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx

from agenttrail.bench.otlp_spans import otlp_requests
from agenttrail.broker import EmbeddedBroker
from tests.fixtures import Served, ServeFactory, wait_for

TOKEN = "ingest-outage-0123456789abcdef"
PROTOBUF = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {TOKEN}"}


def stats(server: Served) -> dict[str, Any]:
    return dict(httpx.get(f"{server.url}/v1/stats", headers=server.admin, timeout=10).json())


def sql(server: Served, query: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.url}/v1/sql", params={"q": query}, headers=server.admin, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def test_spans_accepted_while_the_broker_is_paused_are_stored_once_and_a_full_spool_asks_for_a_retry(
        pausable_broker: EmbeddedBroker, serve_factory: ServeFactory) -> None:
    tokens = json.dumps([{"name": "outage", "sha256": hashlib.sha256(TOKEN.encode()).hexdigest(), "tenant": "acme"}])
    server = serve_factory(AGENTTRAIL_BOOTSTRAP=pausable_broker.bootstrap, AGENTTRAIL_INGEST_TOKENS=tokens,
                           AGENTTRAIL_DELIVERY_TIMEOUT_MS="1000", AGENTTRAIL_SPOOL_MAX_BYTES="250000")
    before, during, too_many = ([body for body, _ in otlp_requests(200, 200, seed=seed)] for seed in (1, 2, 3))
    url = f"{server.url}/v1/traces"
    assert wait_for(lambda: httpx.post(url, content=before[0], headers=PROTOBUF).status_code == 200, "ingest to open")
    wait_for(lambda: stats(server)["otlp"]["unsent_bytes"] == 0, "the first spans to reach Kafka")

    pausable_broker.pause()
    try:
        accepted = httpx.post(url, content=during[0], headers=PROTOBUF, timeout=10)
        assert accepted.status_code == 200, accepted.text
        wait_for(lambda: stats(server)["otlp"]["unsent_bytes"] > 0, "the spans to wait in the spool")
        full = httpx.post(url, content=too_many[0], headers=PROTOBUF, timeout=10)
        assert full.status_code == 503 and full.headers["retry-after"] == "1" and "spool" in full.text
    finally:
        pausable_broker.resume()
    deadline = time.monotonic() + 60
    while (retried := httpx.post(url, content=too_many[0], headers=PROTOBUF, timeout=10)).status_code == 503:
        assert time.monotonic() < deadline, "the spool never drained"
        time.sleep(1)
    assert retried.status_code == 200

    # one stream per tenant and service: the refused request's spans came from many, each declares its drop
    wait_for(lambda: sql(server, "SELECT count(*) AS n FROM events WHERE action_type <> 'audit.gap'")[0]["n"] == 600,
             "the 600 spans to be stored", timeout=60)
    wait_for(lambda: sql(server, "SELECT sum(dropped)::INTEGER AS n FROM stream_gap_declarations")[0]["n"] == 200,
             "every stream to declare what the full spool dropped")
    [row] = sql(server, "SELECT count(*) AS events, count(DISTINCT event_id) AS ids, "
                        "count(DISTINCT stream_id) FILTER (action_type = 'audit.gap') AS streams, "
                        "count(*) FILTER (action_type = 'audit.gap') AS gaps FROM events")
    assert row["events"] == row["ids"] == 600 + row["gaps"] and row["gaps"] == row["streams"] > 1
    assert {r["reason"] for r in sql(server, "SELECT reason FROM stream_gap_declarations")} == {"spool_full"}
    assert sql(server, "SELECT count(*) AS n FROM quarantine")[0]["n"] == 0
    assert stats(server)["otlp"]["duplicates"] == 0
