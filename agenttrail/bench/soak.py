"""Load and soak: N events through the embedded broker and `agenttrail serve` with every projection on.

``agenttrail bench --soak`` runs this alone (not the other stages). ``agenttrail serve`` runs as a
process of its own (``bench.served``): its materializer stores every event with every projection
(chains, spend and budgets, anomalies, policy, enforcement, streams, checkpoints) while this
process produces realistic hash-chained events (``bench.events``) as fast as the store takes
them, never more than ``LEAD`` ahead, so the bench's own memory stays bounded.

Every ``SAMPLE_S`` it asks the server (one ``/v1/sql`` read, itself recorded in the access log)
how many events it has stored and how much memory DuckDB accounts for (``duckdb_memory()``),
and reads the resident memory (RSS, through psutil) of the server process (materializer and
idle HTTP API), of its decode worker and of the broker. Memory is flat when DuckDB's cache stays
within its limit (``AGENTTRAIL_DUCKDB_MEMORY_LIMIT``, 1GB for the soak when unset) and the rest of
the server's memory does not grow with the event count over the second half of the run: what
grows beyond the cache is a leak. The embedded broker keeps every record in memory by design, so
its RSS is reported, not judged.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from agenttrail.bench.events import chained_records, sample_events
from agenttrail.bench.report import STALL_S, BenchError
from agenttrail.bench.served import served
from agenttrail.config import ENV_PREFIX, Settings
from agenttrail.kafka import make_producer, map_kafka_errors
from agenttrail.schemas.codec import default_codec

SAMPLE_S = 2.0
LEAD = 250_000  # events produced but not yet stored, at most
CHUNK = 5_000  # events produced between looks at the lead
SLICES = 10  # rows of the throughput table: tenths of the run, by events stored
DEFAULT_MEMORY_LIMIT = "1GB"
LIMIT_SLACK = 1.02  # DuckDB may pass its limit by a little while it evicts
REST_GROWTH_MAX_MB = 32.0  # the rest may grow this much per million events in the run's second half
_UNITS = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30,
          "TiB": 2**40}
MB = 1e6


@dataclass
class SoakSample:
    seconds: float
    produced: int
    stored: int
    serve_mb: float  # the server process: materializer, projections, idle HTTP API
    worker_mb: float  # its decode worker process
    broker_mb: float
    duckdb_mb: float  # DuckDB's own account of the memory it holds
    load: float  # the machine's 1-minute load average: other processes slow the server down


@dataclass
class SoakReport:
    events: int
    memory_limit: str
    seconds: float = 0.0
    start_mb: float = 0.0  # the server's RSS before the first event
    db_mb: float = 0.0  # the DuckDB file (and WAL) at the end
    samples: list[SoakSample] = field(default_factory=list)

    def peak(self, name: str) -> float:
        return max((getattr(s, name) for s in self.samples), default=0.0)

    @property
    def limit_mb(self) -> float:
        number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(\w+)", self.memory_limit).groups()  # type: ignore[union-attr]
        return float(number) * _UNITS[unit] / MB

    @property
    def flat(self) -> bool:
        """DuckDB's cache stayed within its limit, and the rest of the server did not grow with the events."""
        return (self.peak("duckdb_mb") <= self.limit_mb * LIMIT_SLACK
                and self.rest_growth_per_million() <= REST_GROWTH_MAX_MB)

    def rest(self) -> list[float]:
        """The server's memory besides DuckDB's cache, per sample: Python, the Kafka client, Arrow batches,
        allocators' caches (DuckDB's own allocator keeps freed memory for reuse too)."""
        return [s.serve_mb - s.duckdb_mb for s in self.samples]

    def rest_growth_per_million(self) -> float:
        """The slope of ``rest`` over the second half of the run (least squares), in MB per million events:
        one sample rises and falls with each batch, a leak rises with the count."""
        half = [(s.stored, rest) for s, rest in zip(self.samples, self.rest(), strict=True)
                if s.stored >= self.events / 2]
        if len(half) < 3:
            return 0.0
        mean_x, mean_y = sum(x for x, _ in half) / len(half), sum(y for _, y in half) / len(half)
        spread = sum((x - mean_x) ** 2 for x, _ in half)
        return sum((x - mean_x) * (y - mean_y) for x, y in half) / spread * 1e6 if spread else 0.0

    def slices(self) -> list[dict[str, float]]:
        """Per tenth of the events stored: its throughput, and the memory at its end."""
        rows, start = [], SoakSample(0.0, 0, 0, self.start_mb, 0.0, 0.0, 0.0, 0.0)
        for n in range(1, SLICES + 1):
            end = next((s for s in self.samples if s.stored >= self.events * n / SLICES), None)
            if end is None or end.seconds <= start.seconds:
                continue
            rows.append({"up_to": end.stored, "at_s": end.seconds,
                         "events_per_s": (end.stored - start.stored) / (end.seconds - start.seconds),
                         "serve_mb": end.serve_mb, "duckdb_mb": end.duckdb_mb, "rest_mb": end.serve_mb - end.duckdb_mb,
                         "worker_mb": end.worker_mb, "broker_mb": end.broker_mb, "load": end.load})
            start = end
        return rows


def run_soak(settings: Settings, bootstrap: str, broker_pid: int, work: Path, events: int,
             on_progress: Callable[[int], None]) -> SoakReport:
    """Produce ``events`` and sample the server until it stored them all; raises BenchError on a stall."""
    report = SoakReport(events, settings.duckdb_memory_limit or DEFAULT_MEMORY_LIMIT)
    settings = settings.model_copy(update={"duckdb_memory_limit": report.memory_limit})
    admin = secrets.token_urlsafe(24)
    with served(settings, bootstrap, work, name="soak", env={f"{ENV_PREFIX}API_TOKEN": admin}) as server, \
            httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as client:
        processes = {"serve": psutil.Process(server.pid), "broker": psutil.Process(broker_pid)}
        report.start_mb = _rss_mb(processes["serve"])
        stored = [0]  # the sampler's latest count, which the producer reads to keep its lead
        producer = _Producer(settings, bootstrap, events, stored)
        producer.start()
        started, last_progress = time.monotonic(), time.monotonic()
        while stored[0] < events:
            time.sleep(SAMPLE_S)
            producer.raise_failure()
            sample = _sample(time.monotonic() - started, producer.produced, processes, client)
            if sample.stored > stored[0]:
                on_progress(sample.stored - stored[0])
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > STALL_S:
                raise BenchError(f"The soak stalled at {stored[0]:,} of {events:,} events stored.")
            stored[0] = sample.stored
            report.samples.append(sample)
        report.seconds = report.samples[-1].seconds
        producer.join()
    report.db_mb = sum(p.stat().st_size for p in work.glob("soak.duckdb*") if p.is_file()) / MB
    return report


class _Producer(threading.Thread):
    """Produces the events in chunks, waiting while it is more than LEAD ahead of the store."""

    def __init__(self, settings: Settings, bootstrap: str, events: int, stored: list[int]) -> None:
        super().__init__(name="soak-producer", daemon=True)
        self.settings, self.bootstrap, self.events, self.stored = settings, bootstrap, events, stored
        self.produced = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            producer = make_producer(self.settings, self.bootstrap)
            topic = self.settings.topic("actions")
            with map_kafka_errors(self.bootstrap):
                for key, value in chained_records(sample_events(self.events), default_codec()):
                    producer.send(topic, key=key, value=value)
                    self.produced += 1
                    if self.produced % CHUNK == 0:
                        producer.flush(timeout=STALL_S)
                        while self.produced - self.stored[0] > LEAD:
                            time.sleep(0.2)
                producer.flush(timeout=STALL_S)
            producer.close(timeout=5)
        except BaseException as exc:  # handed to the sampling loop, which raises it
            self.failure = exc

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise BenchError(f"The soak's producer failed: {self.failure}") from self.failure


# One read per sample: the events stored, from the store itself, and DuckDB's own account of its memory.
_SAMPLE_SQL = ("SELECT (SELECT count(*) FROM events) AS events, "
               "(SELECT sum(memory_usage_bytes) FROM duckdb_memory()) AS duckdb_bytes")


def _sample(seconds: float, produced: int, processes: dict[str, psutil.Process],
            client: httpx.Client) -> SoakSample:
    serve = processes["serve"]
    [answer] = client.get("/v1/sql", params={"q": _SAMPLE_SQL}).json()
    return SoakSample(seconds, produced, int(answer["events"]), _rss_mb(serve),
                      sum(_rss_mb(worker) for worker in serve.children()), _rss_mb(processes["broker"]),
                      float(answer["duckdb_bytes"] or 0) / MB, os.getloadavg()[0])


def _rss_mb(process: psutil.Process) -> float:
    try:
        return float(process.memory_info().rss) / MB
    except psutil.NoSuchProcess:  # a decode worker between batches of a restart
        return 0.0


def soak_json(report: SoakReport) -> dict[str, Any]:
    return {"events": report.events, "memory_limit": report.memory_limit, "seconds": report.seconds,
            "start_mb": report.start_mb, "db_mb": report.db_mb, "flat": report.flat,
            "peak_serve_mb": report.peak("serve_mb"), "peak_worker_mb": report.peak("worker_mb"),
            "peak_broker_mb": report.peak("broker_mb"), "peak_duckdb_mb": report.peak("duckdb_mb"),
            "rest_growth_mb_per_million": report.rest_growth_per_million(), "slices": report.slices(),
            "samples": [asdict(sample) for sample in report.samples]}
