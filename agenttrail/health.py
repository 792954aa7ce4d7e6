"""Is the service keeping up? Lag, freshness and broker reachability, for /readyz, /metrics and `status`.

Consumer lag is the broker's end offset per partition minus the offset the
materializer committed in DuckDB (the same transaction as the rows, so it is
exactly what is stored); freshness is now minus the newest stored event's
``received_at``. ``measure`` takes one snapshot; ``HealthMonitor`` takes one
every ``health_interval_s`` on its own thread and Kafka client, so a probe
answers from memory (Kubernetes gives a probe one second) and a stalled broker
never stalls an HTTP request. ``problems`` judges a snapshot: the service is
ready when the list is empty.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from agenttrail._exceptions import BrokerError, BrokerUnavailableError
from agenttrail.config import Settings
from agenttrail.kafka import Consumer, make_consumer, map_kafka_errors, partitions_for
from agenttrail.shards import partition_filter
from agenttrail.sql import text as sql

log = logging.getLogger("agenttrail.health")

# How long one end-offsets request may wait: a paused broker must show as down within a probe or two.
PROBE_TIMEOUT_MS = 1500


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    end_offset: int
    next_offset: int

    @property
    def lag(self) -> int:
        """Records on the broker the store has not committed (0 once it has caught up)."""
        return max(self.end_offset - self.next_offset, 0)


@dataclass(frozen=True)
class Snapshot:
    """One measurement. ``partitions`` is empty and ``broker_error`` says why when Kafka did not answer."""

    measured_at: datetime
    broker_error: str | None
    partitions: tuple[PartitionLag, ...]
    newest_received_at: datetime | None
    quarantined: dict[str, int] = field(default_factory=dict)  # by reason
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # (endpoint, status) -> count

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def freshness_s(self) -> float | None:
        """Seconds since the newest stored event arrived; None for an empty store."""
        if self.newest_received_at is None:
            return None
        return max((self.measured_at - self.newest_received_at).total_seconds(), 0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "measured_at": self.measured_at.isoformat(),
            "broker_reachable": self.broker_error is None,
            "broker_error": self.broker_error,
            "lag": self.lag,
            "partitions": [{"topic": p.topic, "partition": p.partition, "end_offset": p.end_offset,
                            "next_offset": p.next_offset, "lag": p.lag} for p in self.partitions],
            "newest_received_at": self.newest_received_at.isoformat() if self.newest_received_at else None,
            "freshness_s": self.freshness_s,
            "quarantined": self.quarantined,
            "deliveries": [{"endpoint": e, "status": s, "count": n} for (e, s), n in self.deliveries.items()],
        }


def probe_consumer(settings: Settings, bootstrap: str) -> Consumer:
    """A Kafka client that only asks where partitions end, and gives up within PROBE_TIMEOUT_MS.

    A fetch returns at least one whole batch whatever the byte limit, so the limit of 1
    keeps each probe's fetch to the last batch of each partition.
    """
    return make_consumer(settings, bootstrap, request_timeout_ms=PROBE_TIMEOUT_MS,
                         max_partition_fetch_bytes=1, fetch_max_bytes=1)


def end_offsets(consumer: Consumer, bootstrap: str, topics: list[str],
                reads: Callable[[str, int], bool] = lambda topic, partition: True) -> dict[tuple[str, int], int]:
    """The offset the next record will get, per (topic, partition) that ``reads`` keeps (a shard's: its
    partitions are its lag); BrokerError when Kafka does not answer.

    ListOffsets alone is not enough: the embedded broker (Tansu) answers it with the last
    batch's base offset + 1, so 120 events in one batch showed as 1. The high watermark in
    a fetch response is right on every broker, so fetch from there and take the larger.
    """
    with map_kafka_errors(bootstrap):
        parts = [tp for topic in topics for tp in partitions_for(consumer, topic) if reads(tp.topic, tp.partition)]
        listed = consumer.end_offsets(parts) if parts else {}
        consumer.unsubscribe()  # a fresh assignment forgets the last probe's high watermarks
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, max(listed[tp] - 1, 0))
        deadline = time.monotonic() + PROBE_TIMEOUT_MS / 1000
        while any(consumer.highwater(tp) is None for tp in parts):
            if time.monotonic() > deadline:
                raise BrokerUnavailableError(f"Kafka at {bootstrap} did not answer a fetch within "
                                             f"{PROBE_TIMEOUT_MS} ms; check that the broker is running.")
            consumer.poll(timeout_ms=100, max_records=1)
        return {(tp.topic, tp.partition): max(int(listed[tp]), int(consumer.highwater(tp) or 0)) for tp in parts}


def measure(cursor: duckdb.DuckDBPyConnection, broker: Callable[[], dict[tuple[str, int], int]]) -> Snapshot:
    """One snapshot: the store's side from ``cursor``, the end offsets from ``broker()``.

    A BrokerError from ``broker`` does not escape: the snapshot reports it, with no partitions.
    """
    stored = {(t, p): int(n) for t, p, n in cursor.execute(sql("health_offsets")).fetchall()}
    [(newest,)] = cursor.execute(sql("health_newest")).fetchall()
    quarantined = {reason: int(n) for reason, n in cursor.execute(sql("health_quarantine")).fetchall()}
    deliveries = {(e, s): int(n) for e, s, n in cursor.execute(sql("health_deliveries")).fetchall()}
    try:
        ends = broker()
    except BrokerError as exc:
        return Snapshot(datetime.now(UTC), str(exc), (), newest, quarantined, deliveries)
    partitions = tuple(PartitionLag(topic, partition, end, stored.get((topic, partition), 0))
                       for (topic, partition), end in sorted(ends.items()))
    return Snapshot(datetime.now(UTC), None, partitions, newest, quarantined, deliveries)


def measure_once(settings: Settings, bootstrap: str, cursor: duckdb.DuckDBPyConnection,
                 topics: list[str]) -> Snapshot:
    """A snapshot with a Kafka client of its own, closed after (for `agenttrail status` without a server)."""
    def broker() -> dict[tuple[str, int], int]:
        consumer = probe_consumer(settings, bootstrap)
        try:
            return end_offsets(consumer, bootstrap, topics, partition_filter(settings))
        finally:
            consumer.close()
    return measure(cursor, broker)


def problems(snapshot: Snapshot | None, *, max_lag: int, max_age_s: float,
             materializer_problem: str | None = None) -> list[str]:
    """Why the service is not ready, one sentence each; an empty list means ready."""
    if snapshot is None:
        return ["No health measurement yet; the service is starting."]
    found = []
    age = (datetime.now(UTC) - snapshot.measured_at).total_seconds()
    if age > max_age_s:
        found.append(f"The last health measurement is {age:.0f} s old; the monitor is stuck.")
    if snapshot.broker_error:
        found.append(snapshot.broker_error)
    if materializer_problem is not None:
        found.append(materializer_problem)
    if snapshot.lag > max_lag:
        found.append(f"The materializer is {snapshot.lag:,} records behind the broker (AGENTTRAIL_MAX_LAG is "
                     f"{max_lag:,}).")
    return found


def report(snapshot: Snapshot | None, found: list[str], *, max_lag: int, **more: Any) -> dict[str, Any]:
    """The status document: what `GET /v1/status` answers and `agenttrail status --json` prints."""
    return {"ready": not found, "problems": found, "max_lag": max_lag, **more,
            **(snapshot.as_dict() if snapshot else {})}


class HealthMonitor:
    """Measures every ``health_interval_s`` on its own thread; ``latest`` is the newest snapshot."""

    def __init__(self, settings: Settings, bootstrap: str, cursor_factory: Callable[[], duckdb.DuckDBPyConnection],
                 topics: list[str]) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.topics = topics
        self.latest: Snapshot | None = None
        self._cursor = cursor_factory()
        self._consumer: Consumer | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agenttrail-health", daemon=True)

    def start(self) -> HealthMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._consumer is not None:
            self._consumer.close()

    def problems(self, materializer_error: BaseException | None = None) -> list[str]:
        """Why the service is not ready; a snapshot older than three intervals means this monitor is stuck."""
        return problems(self.latest, max_lag=self.settings.max_lag,
                        max_age_s=3 * self.settings.health_interval_s + PROBE_TIMEOUT_MS / 1000,
                        materializer_problem=str(materializer_error) if materializer_error else None)

    def _end_offsets(self) -> dict[tuple[str, int], int]:
        if self._consumer is None:
            self._consumer = probe_consumer(self.settings, self.bootstrap)
        return end_offsets(self._consumer, self.bootstrap, self.topics, partition_filter(self.settings))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.latest = measure(self._cursor, self._end_offsets)
            except duckdb.Error as exc:  # the snapshot goes stale, and problems() says so
                log.warning("health measurement failed: %s", exc)
            self._stop.wait(self.settings.health_interval_s)
