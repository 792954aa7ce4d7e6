"""Real parts for tests: a Kafka-compatible broker, settings isolated per test, SDK trails, stores.

Broker choice, in order: ``AGENTTRAIL_TEST_BOOTSTRAP``; testcontainers Kafka when
a Docker engine answers within a second; else the embedded broker (always
available, and the path our machines take). Each test gets its own topic
prefix, so tests share one broker without seeing each other's events.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.broker import EmbeddedBroker
from agenttrail.config import Settings, load_settings
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.store import open_store
from agenttrail.kafka import ensure_topics, make_consumer, partitions_for
from agenttrail.producers.trail import Trail, connect
from agenttrail.schemas.codec import alert_codec

FINGERPRINT_KEY = "test-fingerprint-key-0123456789abcdef"
SCALE = float(os.environ.get("AGENTTRAIL_TEST_SCALE", "1"))


def scaled(count: int) -> int:
    """Event counts scale with AGENTTRAIL_TEST_SCALE (default 1) for longer local runs."""
    return max(1, int(count * SCALE))


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=1).ping()
        return True
    except Exception:
        return False


@dataclass
class BrokerHandle:
    bootstrap: str
    kind: str


@pytest.fixture(scope="session")
def broker() -> Iterator[BrokerHandle]:
    given = os.environ.get("AGENTTRAIL_TEST_BOOTSTRAP")
    if given:
        yield BrokerHandle(given, "external")
    elif _docker_answers():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer() as kafka:
            yield BrokerHandle(kafka.get_bootstrap_server(), "testcontainers")
    else:
        with EmbeddedBroker() as embedded:
            yield BrokerHandle(embedded.bootstrap, "embedded")


@pytest.fixture
def pausable_broker() -> Iterator[EmbeddedBroker]:
    """A private embedded broker a test may pause (SIGSTOP) without losing its log."""
    with EmbeddedBroker() as embedded:
        yield embedded


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def settings_factory(tmp_path: Path, broker: BrokerHandle) -> SettingsFactory:
    """Settings for this test: own topics, database and spool; topics created."""
    def make(*, bootstrap: str | None = None, **overrides: Any) -> Settings:
        target = bootstrap or broker.bootstrap
        values: dict[str, Any] = {
            "bootstrap": target,
            "db": tmp_path / "agenttrail.duckdb",
            "spool_dir": tmp_path / "spool",
            "fingerprint_key": FINGERPRINT_KEY,
            "topic_prefix": f"t{uuid.uuid4().hex[:12]}",
            "delivery_timeout_ms": 2000,
        } | overrides
        settings = load_settings(**values)
        ensure_topics(settings, target)
        return settings
    return make


@pytest.fixture
def settings(settings_factory: SettingsFactory) -> Settings:
    return settings_factory()


TrailFactory = Callable[..., Trail]


@pytest.fixture
def trail_factory(settings: Settings) -> Iterator[TrailFactory]:
    opened: list[Trail] = []

    def make(*, settings_: Settings | None = None, **identity: Any) -> Trail:
        values = {"tenant": "acme", "agent_id": "agent-1", "agent_version": "1.0.0",
                  "region": "eu-west-1", "principal": "human:alice"} | identity
        trail = connect(settings=settings_ or settings, **values)
        opened.append(trail)
        return trail

    yield make
    for trail in opened:
        trail.close(timeout=5)


@pytest.fixture
def trail(trail_factory: TrailFactory) -> Trail:
    return trail_factory()


@pytest.fixture
def store(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    con = open_store(settings.db)
    yield con
    con.close()


def materialize(settings: Settings, con: duckdb.DuckDBPyConnection, *, until: int,
                timeout: float = 60.0, bootstrap: str | None = None, table: str = "events") -> int:
    """Run a materializer until ``table`` holds ``until`` rows (or the timeout); returns the count."""
    materializer = Materializer(settings, bootstrap or settings.bootstrap or "", con)
    materializer.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            materializer.step()
            if stored_count(con, table) >= until:
                break
    finally:
        materializer.close()
    return stored_count(con, table)


def stored_count(con: duckdb.DuckDBPyConnection, table: str = "events") -> int:
    assert table.isidentifier(), table
    [(count,)] = con.execute(f"SELECT count(*) FROM {table}").fetchall()  # fetchall: leaves no open result
    return int(count)


def published_alerts(settings: Settings, expected: int) -> list[dict[str, Any]]:
    """Every alert on the alerts topic (decoded, with headers), waiting a little for a second copy of any."""
    consumer = make_consumer(settings, settings.bootstrap or "")
    consumer.assign(partitions_for(consumer, settings.topic("alerts")))
    consumer.seek_to_beginning()
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(found) <= expected:
        for records in consumer.poll(timeout_ms=500).values():
            found.extend({"alert": alert_codec().decode(r.value), "headers": dict(r.headers)} for r in records)
        if len(found) == expected:
            deadline = min(deadline, time.monotonic() + 1.5)  # linger a little: a second copy would show
    consumer.close()
    return found


def cli_as(settings: Settings, user: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``agenttrail --db <settings.db> ARGS`` in a subprocess as ``user``, on ``settings``' broker and topics."""
    env = os.environ | {"AGENTTRAIL_BOOTSTRAP": settings.bootstrap or "",
                        "AGENTTRAIL_TOPIC_PREFIX": settings.topic_prefix,
                        "AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY, "USER": user}

    def agenttrail(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agenttrail.cli", "--db", str(settings.db), *args],
                              env=env, capture_output=True, text=True, timeout=60)

    return agenttrail
