"""One bench run: every stage once, on a private embedded broker and a temporary directory."""

from __future__ import annotations

import gc
import os
import platform
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from agenttrail.bench.ceiling import consume, produce
from agenttrail.bench.chains import measure_chain_query
from agenttrail.bench.console import RUNS as CONSOLE_RUNS
from agenttrail.bench.console import measure_console
from agenttrail.bench.detection import measure_detection
from agenttrail.bench.events import encoded_events
from agenttrail.bench.integrity import measure_verify
from agenttrail.bench.leaks import TREE_SIZES, measure_blast_radius, measure_leak_cascade
from agenttrail.bench.materializer import measure_materializer
from agenttrail.bench.naive import measure_naive
from agenttrail.bench.otlp import measure_otlp
from agenttrail.bench.privacy import measure_privacy
from agenttrail.bench.query import measure_query
from agenttrail.bench.report import QUERY_RUNS, BenchError, BenchReport, CeilingResult
from agenttrail.bench.revocation import measure_revocation
from agenttrail.bench.scale_out import PARTITIONS as SCALE_OUT_PARTITIONS
from agenttrail.bench.scale_out import SHARD_COUNTS, measure_scale_out
from agenttrail.bench.sdk import measure_sdk
from agenttrail.bench.soak import SoakReport, run_soak
from agenttrail.bench.table import measures
from agenttrail.broker import EmbeddedBroker
from agenttrail.config import Settings, load_settings
from agenttrail.kafka import (
    ensure_topics,
)
from agenttrail.schemas.codec import default_codec


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count() or 0,
        "python": platform.python_version(),
        "kafka-python": _version("kafka-python"),
        "confluent-kafka": _version("confluent-kafka"),
        "kafka_client": load_settings().kafka_client,  # AGENTTRAIL_KAFKA_CLIENT: the client every stage uses
        "duckdb": _version("duckdb"),
        "fastavro": _version("fastavro"),
        "pyarrow": _version("pyarrow"),
        "load_average_at_start": [round(x, 2) for x in load],
    }


def _settings(bootstrap: str, work: Path, run_id: str, stage: str, key: str, **overrides: Any) -> Settings:
    settings = load_settings(bootstrap=bootstrap, db=work / "bench.duckdb", spool_dir=work / "spool",
                             fingerprint_key=key, topic_prefix=f"bench-{run_id}-{stage}", **overrides)
    ensure_topics(settings, bootstrap)
    return settings


def _advance(progress: Progress, task: TaskID) -> Callable[[int], None]:
    return lambda n: progress.advance(task, n)


DETECTION_ANOMALIES = 5  # instances of each injected kind per seed
DETECTION_WALL_RATE = 2000.0  # events per wall second the labelled fleet is throttled to


def run_bench(*, events: int, query_events: int, console: Console, progress: bool = True,
              detection_events: int = 0, revocation_trials: int = 0, otlp_spans: int = 0,
              leak_trials: int = 0, scale_out_events: int = 0) -> BenchReport:
    """Run every stage once on a private embedded broker and return the measurements.

    ``detection_events`` per seed for stage (i), the anomaly detectors on labelled fleets,
    ``revocation_trials`` leaked tokens for stage (j), revocation latency, ``otlp_spans`` for stage (l),
    OTLP ingest through serve, ``leak_trials`` leaked trees of each size for stage (m), a leak report
    to its tree revoked, and ``scale_out_events`` for stage (n), 1, 2 and 3 shards; 0 skips any of them.
    """
    if events < 1 or query_events < 1 or min(detection_events, revocation_trials, otlp_spans, leak_trials,
                                             scale_out_events) < 0:
        raise BenchError("events and query_events must be at least 1, detection_events, revocation_trials, "
                         "otlp_spans, leak_trials and scale_out_events at least 0.")
    machine = machine_info()
    run_id, key = secrets.token_hex(4), secrets.token_urlsafe(32)
    codec = default_codec()
    started = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    bar = Progress(*columns, console=console, disable=not progress)
    with tempfile.TemporaryDirectory(prefix="agenttrail-bench-") as tmp, EmbeddedBroker() as broker, bar:
        work, bootstrap = Path(tmp), broker.bootstrap
        tasks = {
            "prepare": bar.add_task("encode events", total=events),
            "ceiling": bar.add_task(f"(a) {machine['kafka_client']} ceiling", total=2 * events),
            "sdk": bar.add_task("(b) SDK emit -> acked", total=events),
            "materializer": bar.add_task("(c) materializer", total=events),
            "naive": bar.add_task("(e) naive baseline", total=events),
            "query": bar.add_task("(d) trail query", total=QUERY_RUNS + 1),
            "projected": bar.add_task("(f) with every projection", total=events),
            "verify": bar.add_task("(g) verify", total=1),
            "chains": bar.add_task("(h) chain query", total=1),
            "console": bar.add_task("(k) console pages", total=2 * CONSOLE_RUNS),
            "detection": bar.add_task("(i) anomaly detection", total=4 * detection_events),
            "revocation": bar.add_task("(j) revocation latency", total=revocation_trials),
            "otlp": bar.add_task("(l) OTLP spans through serve", total=otlp_spans),
            "leaks": bar.add_task("(m) leak -> tree revoked", total=len(TREE_SIZES) * leak_trials + 1),
            "scale_out": bar.add_task("(n) 1, 2, 3 shards", total=len(SHARD_COUNTS) * scale_out_events),
            "privacy": bar.add_task("(o) sealing, retention", total=1),
        }
        load = _settings(bootstrap, work, run_id, "load", key)
        with _quiet_gc():
            records = encoded_events(events, codec, _advance(bar, tasks["prepare"]))
        avg_bytes = sum(len(value) for _, value in records) / len(records)

        produce_s = produce(load, bootstrap, records, _advance(bar, tasks["ceiling"]))
        del records
        consume_s = consume(load, bootstrap, events, _advance(bar, tasks["ceiling"]))
        ceiling = CeilingResult(messages=events, avg_bytes=avg_bytes, produce_seconds=produce_s,
                                produce_per_s=events / produce_s, consume_seconds=consume_s,
                                consume_per_s=events / consume_s)

        sdk_settings = _settings(bootstrap, work, run_id, "sdk", key)
        sdk = measure_sdk(sdk_settings, work / "spool" / "sdk", events, _advance(bar, tasks["sdk"]))
        sdk.ratio_to_produce = sdk.events_per_s / ceiling.produce_per_s

        materializer = measure_materializer(load, bootstrap, work / "bench.duckdb", events,
                                            _advance(bar, tasks["materializer"]), projections=())
        naive = measure_naive(load, bootstrap, work / "naive.duckdb", events, _advance(bar, tasks["naive"]))
        materializer.ratio_to_consume = materializer.events_per_s / ceiling.consume_per_s
        materializer.ratio_to_naive = materializer.events_per_s / naive.events_per_s

        query = measure_query(work / "query.duckdb", query_events, _advance(bar, tasks["query"]))

        projected = measure_materializer(load, bootstrap, work / "projected.duckdb", events,
                                         _advance(bar, tasks["projected"]))
        verified = measure_verify(work / "projected.duckdb", key_file=load.signing_key_path)
        bar.advance(tasks["verify"])
        chain_query = measure_chain_query(work / "chains.duckdb", events=query_events)
        bar.advance(tasks["chains"])
        console_pages = measure_console(work / "chains.duckdb", _settings(bootstrap, work, run_id, "console", key),
                                        bootstrap, events=query_events, on_progress=_advance(bar, tasks["console"]))
        detection = measure_detection(
            lambda stage: _settings(bootstrap, work, run_id, stage, key), bootstrap, work, events=detection_events,
            anomalies=DETECTION_ANOMALIES, wall_rate=DETECTION_WALL_RATE,
            on_progress=_advance(bar, tasks["detection"])) if detection_events else None
        revocation = _on_own_broker(lambda bootstrap: measure_revocation(
            _settings(bootstrap, work, run_id, "revocation", key), bootstrap, work / "revocation",
            trials=revocation_trials, on_progress=_advance(bar, tasks["revocation"]))) if revocation_trials else None
        otlp = _on_own_broker(lambda bootstrap: measure_otlp(
            _settings(bootstrap, work, run_id, "otlp", key), bootstrap, work / "otlp", spans=otlp_spans,
            on_progress=_advance(bar, tasks["otlp"]))) if otlp_spans else None
        blast = measure_blast_radius(work / "blast.duckdb", events=query_events)
        bar.advance(tasks["leaks"])
        cascade = _on_own_broker(lambda bootstrap: measure_leak_cascade(
            _settings(bootstrap, work, run_id, "leaks", key), bootstrap, work / "leaks", trials=leak_trials,
            on_progress=_advance(bar, tasks["leaks"]))) if leak_trials else None
        scale_out = _on_own_broker(lambda bootstrap: measure_scale_out(
            _settings(bootstrap, work, run_id, "scale", key, partitions=SCALE_OUT_PARTITIONS), bootstrap,
            work / "scale-out", events=scale_out_events,
            on_progress=_advance(bar, tasks["scale_out"]))) if scale_out_events else None
        privacy = measure_privacy(load, bootstrap, work / "projected.duckdb", events=events)
        bar.advance(tasks["privacy"])

    report = BenchReport(events=events, query_events=query_events, machine=machine, ceiling=ceiling, sdk=sdk,
                         materializer=materializer, naive=naive, query=query, projected=projected,
                         verify=asdict(verified), chain_query=chain_query, detection=detection,
                         revocation=revocation, console=console_pages, otlp=otlp, leak_cascade=cascade,
                         blast_radius=blast, scale_out=scale_out, privacy=privacy,
                         seconds=time.perf_counter() - started)
    report.measures = measures(report)
    return report


def run_soak_bench(*, events: int, console: Console, progress: bool = True) -> tuple[dict[str, Any], SoakReport]:
    """The soak alone (``bench.soak``), on a private embedded broker and a temporary directory."""
    if events < 1:
        raise BenchError("The soak needs at least 1 event.")
    machine = machine_info()
    run_id, key = secrets.token_hex(4), secrets.token_urlsafe(32)
    bar = Progress(SpinnerColumn(), TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, disable=not progress)
    with tempfile.TemporaryDirectory(prefix="agenttrail-soak-") as tmp, EmbeddedBroker() as broker, bar:
        task = bar.add_task("soak: events stored", total=events)
        report = run_soak(_settings(broker.bootstrap, Path(tmp), run_id, "soak", key), broker.bootstrap, broker.pid,
                          Path(tmp), events, _advance(bar, task))
    return machine, report


def _on_own_broker(measure: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """Stages (j), (l), (m) and (n) in the shape of a deployment: a broker carrying only the stage's own traffic (the
    shared one holds every earlier stage's millions of records in memory), and this process's collector
    not walking the earlier stages' leftovers: they are frozen, since one full collection of them took
    57 ms here, a pause of the agent's threads that is the benchmark's cost, not an agent's."""
    gc.collect()
    gc.freeze()
    try:
        with EmbeddedBroker() as own:
            return measure(own.bootstrap)
    finally:
        gc.unfreeze()


@contextmanager
def _quiet_gc() -> Iterator[None]:
    """Preparing the records is setup, not a measurement: keep the collector out of its way."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
