"""Real parts for tests: a Kafka-compatible broker, settings isolated per test, SDK trails, stores.

Broker choice, in order: ``AGENTTRAIL_TEST_BOOTSTRAP``; testcontainers Kafka when
a Docker engine answers within a second; else the embedded broker (always
available, and the path our machines take). Each test gets its own topic
prefix, so tests share one broker without seeing each other's events.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
from agenttrail.runtime import read_live_state
from agenttrail.schemas.codec import alert_codec

FINGERPRINT_KEY = "test-fingerprint-key-0123456789abcdef"
SCALE = float(os.environ.get("AGENTTRAIL_TEST_SCALE", "1"))


def scaled(count: int) -> int:
    """Event counts scale with AGENTTRAIL_TEST_SCALE (default 1) for longer local runs."""
    return max(1, int(count * SCALE))


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=1).ping()
        return True
    except Exception:
        return False


@pytest.fixture(params=["kafka-python", "confluent"])
def kafka_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once with each Kafka client: AGENTTRAIL_KAFKA_CLIENT reaches its settings and subprocesses.

    confluent-kafka comes with the test extra; without it that run is skipped, and under CI=true it fails.
    """
    if request.param == "confluent" and importlib.util.find_spec("confluent_kafka") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and confluent-kafka is not installed: .ci/run must install the test extra.")
        pytest.skip("confluent-kafka is not installed: pip install -e '.[test]' (or 'agenttrail[fast]')")
    monkeypatch.setenv("AGENTTRAIL_KAFKA_CLIENT", request.param)
    return str(request.param)


@dataclass
class BrokerHandle:
    bootstrap: str
    kind: str


@pytest.fixture(scope="session")
def broker() -> Iterator[BrokerHandle]:
    given = os.environ.get("AGENTTRAIL_TEST_BOOTSTRAP")
    if given:
        yield BrokerHandle(given, "external")
    elif docker_answers():
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
        return isolated_settings(tmp_path, bootstrap or broker.bootstrap, **overrides)
    return make


def isolated_settings(workdir: Path, bootstrap: str, **overrides: Any) -> Settings:
    """Settings with their own topics (created), database and spool in ``workdir``; for fixtures of any scope."""
    values: dict[str, Any] = {
        "bootstrap": bootstrap,
        "db": workdir / "agenttrail.duckdb",
        "spool_dir": workdir / "spool",
        "fingerprint_key": FINGERPRINT_KEY,
        "topic_prefix": f"t{uuid.uuid4().hex[:12]}",
        "delivery_timeout_ms": 2000,
    } | overrides
    settings = load_settings(**values)
    ensure_topics(settings, bootstrap)
    return settings


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


@dataclass
class Served:
    """A running `agenttrail serve`: its working directory, environment and URL."""

    workdir: Path
    env: dict[str, str]
    url: str
    process: subprocess.Popen[str]

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env['AGENTTRAIL_API_TOKEN']}"}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


ServeFactory = Callable[..., Served]


def serve_in(workdir: Path) -> Iterator[ServeFactory]:
    """Start `agenttrail serve` (its own embedded broker unless the env names one) in ``workdir``; SIGTERM stops it.

    ``AGENTTRAIL_DB`` in the extra environment serves another store than ``workdir/agenttrail.duckdb``.
    """
    started: list[Served] = []

    def start(*args: str, **extra_env: str) -> Served:
        """``args`` are more flags for serve (``--auth``), ``extra_env`` more settings."""
        env = {k: v for k, v in os.environ.items() if k != "AGENTTRAIL_BOOTSTRAP"} | {
            "AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY, "AGENTTRAIL_API_TOKEN": "admin-token-for-tests",
            "AGENTTRAIL_TOPIC_PREFIX": "served", **extra_env}
        process = subprocess.Popen([sys.executable, "-m", "agenttrail.cli", "serve", "--port", "0", *args],
                                   cwd=workdir,
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        db = Path(env.get("AGENTTRAIL_DB", "agenttrail.duckdb"))  # relative to workdir, or absolute
        state_file = (workdir / db).with_name(db.stem + ".server.json")
        deadline = time.monotonic() + 60
        while (state := read_live_state(state_file)) is None:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        served = Served(workdir, env, str(state["url"]), process)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.stop()


@pytest.fixture
def serve_factory(tmp_path: Path) -> Iterator[ServeFactory]:
    """`serve_in` a test's own directory."""
    yield from serve_in(tmp_path)


@pytest.fixture(scope="module")
def serve_factory_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeFactory]:
    """`serve_in` one directory for a whole module, whose tests share what they read (never change it)."""
    yield from serve_in(tmp_path_factory.mktemp("served"))


@pytest.fixture
def served(serve_factory: ServeFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """`agenttrail serve` with its own embedded broker, in tmp_path; its state files are gone after it stops."""
    server = serve_factory()
    yield server.workdir, server.env
    server.stop()
    assert not (server.workdir / "agenttrail.server.json").exists(), "state files left behind"
    assert not (server.workdir / "agenttrail.broker.json").exists(), "state files left behind"


def client_settings(server: Served) -> Settings:
    """Settings for an SDK or CLI in this process that talks to ``server``'s broker, topics and database."""
    state = read_live_state(server.workdir / "agenttrail.server.json") or {}
    return load_settings(bootstrap=state["bootstrap"], fingerprint_key=FINGERPRINT_KEY, topic_prefix="served",
                         spool_dir=server.workdir / "spool", db=server.workdir / "agenttrail.duckdb")


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """``check()``'s first truthy answer, asked every 0.1 s; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that answers with ``statuses`` in turn (then 200) and keeps what came."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/agenttrail"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
