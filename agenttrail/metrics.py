"""What `GET /metrics` says, in Prometheus' text format, through the official ``prometheus-client``.

Counts come from the pipeline's own counters and the health monitor's latest
snapshot when Prometheus scrapes (a custom collector), so nothing is counted
twice and a scrape never touches Kafka or waits on the database. Rates are
Prometheus' job: events/s is ``rate(agenttrail_events_stored_total[1m])``.
Each server has a registry of its own, so tests can run several in one process.

    agenttrail_events_consumed_total       records read from Kafka (counter)
    agenttrail_events_stored_total         events and control events committed (counter)
    agenttrail_events_quarantined_total    records quarantined by this process (counter)
    agenttrail_events_duplicate_total      resends recognised and skipped (counter)
    agenttrail_batches_total               committed batches (counter)
    agenttrail_quarantine_events{reason}   quarantined records in the store, by reason (gauge)
    agenttrail_consumer_lag{topic,partition}  records on the broker not yet committed (gauge)
    agenttrail_freshness_seconds           now - the newest stored event's received_at (gauge)
    agenttrail_broker_up                   1 when the last probe reached Kafka (gauge)
    agenttrail_ready                       1 when /readyz answers 200 (gauge)
    agenttrail_alert_deliveries{endpoint,status}  webhook deliveries in the store (gauge)
    agenttrail_revocation_seconds          received offending event -> revocation in force (histogram)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agenttrail.health import HealthMonitor

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Revocations take a few hundred milliseconds (the README's stage (j)); buckets resolve that range.
REVOCATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0)

_COUNTERS = (
    ("consumed", "agenttrail_events_consumed", "Records read from Kafka by this process."),
    ("stored", "agenttrail_events_stored", "Events and control events committed to the store by this process."),
    ("quarantined", "agenttrail_events_quarantined", "Records this process quarantined."),
    ("duplicates", "agenttrail_events_duplicate", "Resent records this process recognised and skipped."),
    ("batches", "agenttrail_batches", "Batches this process committed."),
)


class _ServiceCollector(Collector):
    def __init__(self, stats: Callable[[], dict[str, Any]], monitor: HealthMonitor,
                 materializer_error: Callable[[], BaseException | None]) -> None:
        self._stats = stats
        self._monitor = monitor
        self._materializer_error = materializer_error

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        for key, name, doc in _COUNTERS:
            yield CounterMetricFamily(name, doc, value=stats.get(key, 0))
        ready = not self._monitor.problems(self._materializer_error())
        yield GaugeMetricFamily("agenttrail_ready", "1 when /readyz answers 200.", value=int(ready))
        snapshot = self._monitor.latest
        if snapshot is None:
            return
        yield GaugeMetricFamily("agenttrail_broker_up", "1 when the last probe reached Kafka.",
                                value=int(snapshot.broker_error is None))
        lag = GaugeMetricFamily("agenttrail_consumer_lag", "Records on the broker not yet committed to the store.",
                                labels=["topic", "partition"])
        for p in snapshot.partitions:
            lag.add_metric([p.topic, str(p.partition)], p.lag)
        yield lag
        if snapshot.newest_received_at is not None:
            yield GaugeMetricFamily("agenttrail_freshness_seconds",
                                    "Seconds since the newest stored event was received.",
                                    value=(datetime.now(UTC) - snapshot.newest_received_at).total_seconds())
        quarantine = GaugeMetricFamily("agenttrail_quarantine_events", "Quarantined records in the store, by reason.",
                                       labels=["reason"])
        for reason, count in snapshot.quarantined.items():
            quarantine.add_metric([reason], count)
        yield quarantine
        deliveries = GaugeMetricFamily("agenttrail_alert_deliveries",
                                       "Alert webhook deliveries in the store, by endpoint and status.",
                                       labels=["endpoint", "status"])
        for (endpoint, status), count in snapshot.deliveries.items():
            deliveries.add_metric([endpoint, status], count)
        yield deliveries


class ServiceMetrics:
    """The registry `GET /metrics` renders; ``observe_revocations`` is called once per committed batch."""

    def __init__(self, stats: Callable[[], dict[str, Any]], monitor: HealthMonitor,
                 materializer_error: Callable[[], BaseException | None]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_ServiceCollector(stats, monitor, materializer_error))
        self._revocation = Histogram(
            "agenttrail_revocation_seconds",
            "Seconds from receiving the event that caused a revocation or suspension to its being in force.",
            buckets=REVOCATION_BUCKETS, registry=self.registry)

    def observe_revocations(self, received_at: datetime, notices: int) -> None:
        """``notices`` came into force now, raised by a batch received at ``received_at``."""
        elapsed = max((datetime.now(UTC) - received_at).total_seconds(), 0.0)
        for _ in range(notices):
            self._revocation.observe(elapsed)

    def render(self) -> bytes:
        return generate_latest(self.registry)
