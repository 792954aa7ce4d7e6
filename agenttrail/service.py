"""The long-running processes: the materializer thread, `consume`, and `serve`.

``serve`` owns the database: it runs the materializer and answers queries over
HTTP; without a bootstrap it also owns an embedded broker and records its
address beside the database for the SDK and CLI. ``consume`` is the
materializer alone, for deployments with their own Kafka.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import duckdb
import uvicorn

from agenttrail._exceptions import (
    AgentTrailError,
    BrokerUnavailableError,
    ConfigError,
    MaterializerError,
    StoreOutdatedError,
)
from agenttrail.access_log import AccessRecorder
from agenttrail.api import create_app
from agenttrail.broker import EmbeddedBroker
from agenttrail.callers import Callers, IngestTokens
from agenttrail.config import Settings
from agenttrail.consumers.alert_delivery import notice_records, standing_notices
from agenttrail.consumers.materializer import BatchResult, Materializer
from agenttrail.consumers.migrations import migrate
from agenttrail.consumers.store import open_store, restrict_to_reading
from agenttrail.enforcement_state import EnforcementState
from agenttrail.erasure import erasure
from agenttrail.github_secret_scanning import SigningKeys, load_keys
from agenttrail.health import HealthMonitor
from agenttrail.ingest import SpanIngest, stored_in
from agenttrail.kafka import ensure_topics, make_producer, send_and_wait
from agenttrail.leak_api import LeakOptions
from agenttrail.metrics import ServiceMetrics
from agenttrail.otlp_api import otlp_router
from agenttrail.producers.control import publish_controls
from agenttrail.producers.guard import Guard
from agenttrail.retention_schedule import RetentionSchedule
from agenttrail.runtime import remove_state, write_state
from agenttrail.schemas.control import ControlEvent, ControlPayload
from agenttrail.schemas.fingerprints import Fingerprinter
from agenttrail.shard_api import shard_router
from agenttrail.shards import shard_of
from agenttrail.signing import trusted_public_key
from agenttrail.webhooks import WebhookSender

log = logging.getLogger("agenttrail.service")


@dataclass
class PipelineStats:
    consumed: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    batches: int = 0


class Pipeline:
    """A materializer on its own thread; ``error`` holds what stopped it, if anything did."""

    def __init__(self, settings: Settings, bootstrap: str, con: duckdb.DuckDBPyConnection, *,
                 enforcement: EnforcementState | None = None,
                 observe: Callable[[BatchResult], None] | None = None) -> None:
        """``enforcement``, when given, follows every batch's revocation notices; ``observe`` sees every batch."""
        self.materializer = Materializer(settings, bootstrap, con,
                                         on_notices=enforcement.apply if enforcement is not None else None)
        self.stats = PipelineStats()
        self.error: BaseException | None = None
        self._observe = observe
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agenttrail-materializer", daemon=True)

    def start(self) -> Pipeline:
        self.materializer.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.materializer.close()

    def wait_until_stored(self, count: int, timeout: float) -> bool:
        """True once ``count`` events were stored or skipped as duplicates by this pipeline."""
        deadline = time.monotonic() + timeout
        while self.stats.stored + self.stats.duplicates < count and time.monotonic() < deadline:
            if self.error is not None:
                raise self.error
            time.sleep(0.02)
        return self.stats.stored + self.stats.duplicates >= count

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.materializer.run(self._stop, on_batch=self._count)
            except AgentTrailError as exc:
                log.warning("materializer paused: %s Retrying in 1 s.", exc)
                # Records polled before the error are past the consumer's position but not stored:
                # closing makes the next run() seek back to the offsets committed in DuckDB.
                try:
                    self.materializer.close()
                except AgentTrailError as failed:  # e.g. the sealer's key became unreadable: not transient
                    self.error = failed
                    return
                self._stop.wait(1.0)
            except Exception as exc:
                # Not an outage we can wait out: the same batch would fail again on every retry.
                first_line = (str(exc).strip().splitlines() or [""])[0][:300]
                self.error = MaterializerError(
                    f"The materializer stopped on a batch it cannot store ({type(exc).__name__}: "
                    f"{first_line}); nothing after it was stored, so fix the cause and restart it."
                )
                log.info("%s", self.error, exc_info=exc)  # the traceback only with -v
                return

    def _count(self, result: BatchResult) -> None:
        self.stats.consumed += result.consumed
        self.stats.stored += result.stored
        self.stats.quarantined += result.quarantined
        self.stats.duplicates += result.duplicates
        self.stats.batches += 1
        if self._observe is not None:
            self._observe(result)


def owned_bootstrap(settings: Settings, stack: ExitStack) -> str:
    """The configured bootstrap, or an embedded broker (stopped by ``stack``) recorded beside the database."""
    if settings.bootstrap:
        return settings.bootstrap
    if shard_of(settings) is not None:
        raise ConfigError(f"Shard {settings.shard} shares its broker with the other shards, so it cannot start one "
                          "of its own: pass --bootstrap (or AGENTTRAIL_BOOTSTRAP).")
    broker = stack.enter_context(EmbeddedBroker())
    write_state(settings.broker_state_file, {"bootstrap": broker.bootstrap, "embedded": True})
    stack.callback(remove_state, settings.broker_state_file)
    return broker.bootstrap


def start_webhooks(settings: Settings, con: duckdb.DuckDBPyConnection, stack: ExitStack) -> None:
    """The webhook sender on its own cursor, stopped by ``stack``; nothing when no webhook is configured."""
    if settings.webhooks:
        sender = WebhookSender(settings, con.cursor()).start()
        stack.callback(sender.stop)


def republish_enforcement(settings: Settings, bootstrap: str, standing: list[dict[str, Any]]) -> int:
    """Publish the ``standing`` notices (every revocation and suspension in force) again; returns how many.

    The embedded broker forgets its topics when it stops, and a guard that starts against a
    fresh one must still refuse a token revoked last week. Fail-closed: unacknowledged, it raises.
    """
    rows = notice_records(standing, settings.topic("revocations"))
    if not rows:
        return 0
    producer = make_producer(settings, bootstrap, linger_ms=0)
    try:
        acked = send_and_wait(producer, settings.topic("revocations"), [(r["key"], r["value"]) for r in rows],
                              settings.delivery_timeout_ms / 1000)
    finally:
        producer.close(timeout=1)
    if not all(acked):
        raise BrokerUnavailableError(f"Kafka at {bootstrap} did not acknowledge the {len(rows)} revocations and "
                                     "suspensions in force; start the server again when it answers.")
    return len(rows)


def require_fingerprint_key(settings: Settings) -> None:
    Fingerprinter(settings.fingerprint_key, settings.fingerprint_key_id)


def migrated_store(settings: Settings, announce: Any) -> duckdb.DuckDBPyConnection:
    """The store, opened for writing; an older one is first migrated (with a backup) by ``migrate``.

    A current store is opened once: ``open_store`` reads the version before it changes anything,
    and opening twice would replay a large WAL twice at every start.
    """
    try:
        return open_store(settings.db, memory_limit=settings.duckdb_memory_limit)
    except StoreOutdatedError:
        done = migrate(settings)
    if done is not None:
        announce(done.summary(settings.db))
    return open_store(settings.db, memory_limit=settings.duckdb_memory_limit)


def consume(settings: Settings, bootstrap: str, *, announce: Any = print) -> None:
    """Run the materializer until interrupted; broker hiccups after start are retried, not fatal."""
    require_fingerprint_key(settings)
    ensure_topics(settings, bootstrap)
    with ExitStack() as stack:
        con = migrated_store(settings, announce)
        stack.callback(con.close)
        pipeline = Pipeline(settings, bootstrap, con).start()
        stack.callback(pipeline.stop)
        start_webhooks(settings, con, stack)
        while pipeline.error is None:
            time.sleep(0.5)
        raise pipeline.error


def serve(settings: Settings, *, auth_reads: bool, announce: Any = print) -> None:
    """Broker (if embedded), materializer and HTTP API, until interrupted."""
    require_fingerprint_key(settings)
    with ExitStack() as stack:
        con = migrated_store(settings, announce)
        stack.callback(con.close)
        restrict_to_reading(con)
        bootstrap = owned_bootstrap(settings, stack)
        ensure_topics(settings, bootstrap)
        standing = standing_notices(con)
        republished = republish_enforcement(settings, bootstrap, standing)
        if republished:
            announce(f"Published the {republished} revocations and suspensions in force again.")
        enforcement = EnforcementState()
        enforcement.apply(standing)
        monitor = HealthMonitor(settings, bootstrap, con.cursor, Materializer.topics_for(settings)).start()
        stack.callback(monitor.stop)
        # The lambdas read `pipeline` when Prometheus scrapes, by which time it exists.
        metrics = ServiceMetrics(lambda: asdict(pipeline.stats), monitor, lambda: pipeline.error)
        pipeline = Pipeline(settings, bootstrap, con, enforcement=enforcement,
                            observe=lambda r: metrics.observe_revocations(r.received_at, r.notices)).start()
        stack.callback(pipeline.stop)
        if shard_of(settings) is not None:
            follow_other_shards(settings, bootstrap, enforcement, pipeline.materializer, stack)
        start_webhooks(settings, con, stack)
        stack.callback(RetentionSchedule(settings, bootstrap, con.cursor).start().stop)
        token_sha256 = settings.api_token_hash()
        if token_sha256 is None:
            token = secrets.token_urlsafe(24)
            announce(f"API token for writes (shown once, not stored): {token}")
            token_sha256 = hashlib.sha256(token.encode()).hexdigest()
        callers = Callers(token_sha256, settings.api_tokens)

        def publish(changes: Sequence[tuple[str, ControlPayload]], actor: str,
                    reason: str | None) -> list[ControlEvent]:
            return publish_controls(settings, bootstrap, changes, actor=actor, via="http", reason=reason)

        fingerprinter = Fingerprinter(settings.fingerprint_key, settings.fingerprint_key_id)
        recorder = AccessRecorder(settings, bootstrap)
        stack.callback(recorder.close)
        ingest = SpanIngest(settings, bootstrap, stored_in(con.cursor), ready=lambda: pipeline.materializer.caught_up)
        stack.callback(ingest.close)
        otlp = otlp_router(ingest, IngestTokens(settings.ingest_tokens), max_body_bytes=settings.otlp_max_body_bytes)
        shard = shard_router(settings.topic("actions"), lambda: pipeline.materializer.ownership)
        app = create_app(con.cursor, callers=callers, auth_reads=auth_reads,
                         stats=lambda: {**asdict(pipeline.stats), "otlp": ingest.snapshot()}, publish=publish,
                         fingerprint=fingerprinter.fingerprint, enforcement=enforcement, monitor=monitor,
                         metrics=metrics, materializer_error=lambda: pipeline.error, recorder=recorder,
                         public_key=partial(trusted_public_key, None, settings.signing_key_path),
                         leaks=leak_options(settings), routers=[otlp, shard],
                         erase=lambda subject, reason: erasure(settings.fingerprint_key, settings.fingerprint_key_id,
                                                               subject, reason=reason))
        sock = socket.create_server((settings.host, settings.port))
        # Accepted connections inherit this. Without it a kept-alive client (a gateway polling token
        # status) waited ~40 ms per answer: Nagle's algorithm held the body for the delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        host, port = sock.getsockname()[:2]
        url = f"http://{host}:{port}"
        write_state(settings.server_state_file, {"url": url, "bootstrap": bootstrap})
        stack.callback(remove_state, settings.server_state_file)
        owned = pipeline.materializer.ownership
        part = "" if owned.shard is None else (
            f" as shard {owned.shard} (partitions {', '.join(map(str, owned.owned_partitions))} of "
            f"{settings.topic('actions')})")
        announce(f"Serving {settings.db}{part} at {url} (broker {bootstrap}); Ctrl-C to stop.")
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        threading.Thread(target=_stop_when_failed, args=(pipeline, server), daemon=True).start()
        server.run(sockets=[sock])
        if pipeline.error is not None:
            raise pipeline.error


def follow_other_shards(settings: Settings, bootstrap: str, enforcement: EnforcementState,
                        materializer: Materializer, stack: ExitStack) -> None:
    """A shard's status endpoint answers for every token and agent, as one server's would: the other shards'
    notices come from the revocations topic, as the SDK guard reads them; its own, as it commits them."""
    others = Guard(settings, bootstrap, state=enforcement,
                   accept=lambda notice: not materializer.ownership.acts_on(str(notice["tenant"])))
    others.start()
    stack.callback(others.close)


def leak_options(settings: Settings) -> LeakOptions:
    """The leak endpoints' configuration; a GitHub key file that cannot be read stops serve at start."""
    keys = None
    if settings.leak_keys_file is not None:
        load_keys(settings.leak_keys_file)  # ConfigError names AGENTTRAIL_LEAK_KEYS_FILE and what is wrong
        keys = SigningKeys(settings.leak_keys_file)
    return LeakOptions(keys, tuple(settings.anomalies.new_behaviour.sensitive_actions))


def _stop_when_failed(pipeline: Pipeline, server: uvicorn.Server) -> None:
    """A server that cannot ingest must not keep answering as if it did: stop it with the pipeline."""
    while pipeline.error is None and not server.should_exit:
        time.sleep(0.5)
    server.should_exit = True
