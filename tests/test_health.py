"""Health, lag and metrics: what an operator's probe, Prometheus and `agenttrail status` are told.

Real parts throughout: a broker that is paused with SIGSTOP, `agenttrail serve`
in its own process, the DuckDB file, and Prometheus' own parser reading /metrics.
"""

from __future__ import annotations

import json
import os

import duckdb
import httpx
from prometheus_client.parser import text_string_to_metric_families

from agenttrail.broker import EmbeddedBroker
from agenttrail.config import Settings
from agenttrail.consumers.materializer import Materializer
from agenttrail.health import measure_once
from agenttrail.producers.trail import Trail, connect
from tests.fixtures import ServeFactory, client_settings, materialize, wait_for
from tests.test_cli import agenttrail


def emit(trail: Trail, count: int) -> None:
    for i in range(count):
        with trail.action("tool.call", f"call-{i}"):
            pass
    trail.flush()


def metrics(url: str, headers: dict[str, str]) -> dict[str, float]:
    """Every sample on /metrics, keyed by name and labels, e.g. ``agenttrail_consumer_lag{partition=0,...}``."""
    response = httpx.get(f"{url}/metrics", headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


def total_lag(samples: dict[str, float]) -> float:
    return sum(v for k, v in samples.items() if k.startswith("agenttrail_consumer_lag{"))


def test_lag_counts_what_the_broker_holds_and_the_store_does_not_then_falls_to_zero(
    settings: Settings, trail: Trail, store: duckdb.DuckDBPyConnection
) -> None:
    topics = Materializer.topics_for(settings)
    emit(trail, 120)
    before = measure_once(settings, settings.bootstrap or "", store, topics)
    assert before.broker_error is None
    assert before.lag == 121 and before.newest_received_at is None, "120 events, after alice's key (a record too)"
    assert {p.topic for p in before.partitions} == set(topics)

    assert materialize(settings, store, until=120) == 120
    after = measure_once(settings, settings.bootstrap or "", store, topics)
    assert after.lag == 0 and after.newest_received_at is not None
    assert sum(p.end_offset for p in after.partitions) == 121
    print(f"\nlag: 121 records before the materializer ran, {after.lag} after it stored them")


def test_readiness_fails_while_the_broker_is_paused_and_returns_when_it_answers(
    serve_factory: ServeFactory, pausable_broker: EmbeddedBroker
) -> None:
    server = serve_factory(AGENTTRAIL_BOOTSTRAP=pausable_broker.bootstrap, AGENTTRAIL_HEALTH_INTERVAL_S="0.3")

    def readiness() -> tuple[int, list[str]]:
        response = httpx.get(f"{server.url}/readyz", timeout=5)
        return response.status_code, response.json()["problems"]

    wait_for(lambda: readiness()[0] == 200, "the server to be ready")
    pausable_broker.pause()
    try:
        _, found = wait_for(lambda: (r := readiness())[0] == 503 and r, "readiness to fail")
        assert any(f"Kafka at {pausable_broker.bootstrap} did not answer" in p for p in found), found
        assert httpx.get(f"{server.url}/healthz").status_code == 200, "alive, only not ready"
    finally:
        pausable_broker.resume()
    wait_for(lambda: readiness() == (200, []), "readiness to return once the broker answers")


def test_metrics_count_stored_events_lag_freshness_and_revocation_latency(serve_factory: ServeFactory) -> None:
    server = serve_factory(AGENTTRAIL_HEALTH_INTERVAL_S="0.3")
    assert httpx.get(f"{server.url}/metrics").status_code == 200, "a read: open unless --auth"
    settings = client_settings(server)
    trail = connect(tenant="acme", agent_id="metered-agent", agent_version="1", region="eu-west-1",
                    principal="human:alice", settings=settings)
    emit(trail, 40)
    trail.close()

    # Freshness appears once a measurement saw a stored event; every event was acked before, so lag 0 then
    # means the store holds them all.
    samples = wait_for(lambda: "agenttrail_freshness_seconds" in (m := metrics(server.url, {})) and total_lag(m) == 0
                       and m, "the 40 events to be stored and the lag to close")
    assert samples["agenttrail_events_stored_total"] == 40
    assert samples["agenttrail_ready"] == 1 and samples["agenttrail_broker_up"] == 1
    assert samples.get("agenttrail_revocation_seconds_count", 0) == 0

    leaked_token = "at_leaked_" + "x" * 24
    revoked = httpx.post(f"{server.url}/v1/revoke", data={"token": leaked_token, "tenant": "acme", "reason": "test"},
                         headers=server.admin)
    assert revoked.status_code == 200, revoked.text
    wait_for(lambda: metrics(server.url, {}).get("agenttrail_revocation_seconds_count", 0) == 1,
             "the revocation to be observed")
    exposed = httpx.get(f"{server.url}/metrics").text
    fingerprint = revoked.json()["subject"]
    assert leaked_token not in exposed and fingerprint not in exposed, "no token, raw or fingerprinted, in a label"


def test_status_command_asks_the_server_and_without_one_says_nothing_is_materializing(
    serve_factory: ServeFactory,
) -> None:
    server = serve_factory(AGENTTRAIL_HEALTH_INTERVAL_S="0.3")
    env = server.env | {"AGENTTRAIL_DB": str(server.workdir / "agenttrail.duckdb")}
    wait_for(lambda: agenttrail("status", "--json", cwd=server.workdir, env=env).returncode == 0, "status ready")
    doc = json.loads(agenttrail("status", "--json", cwd=server.workdir, env=env).stdout)
    assert doc["ready"] is True and doc["materializer"] == "running" and doc["broker_reachable"] is True
    table = agenttrail("status", cwd=server.workdir, env=env)
    assert "ready" in table.stdout and "freshness" in table.stdout

    server.stop()
    offline = agenttrail("status", cwd=server.workdir, env={k: v for k, v in os.environ.items()
                                                             if not k.startswith("AGENTTRAIL_")})
    assert offline.returncode == 1
    assert "No agenttrail serve is running" in offline.stdout and "not reachable" in offline.stdout
    assert "Traceback" not in offline.stderr
