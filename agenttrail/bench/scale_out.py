"""(n) Scale-out: events/s stored with every projection by 1, 2 and 3 `serve --shard K/N` processes.

The topic has six partitions and is pre-loaded once with tenant-keyed events whose tenants
are picked so that every partition gets the same share (twelve tenants, two a partition):
the split measured is the processes', not the hash's luck. Each run starts N `agenttrail
serve --shard K/N` processes on fresh stores, as a deployment runs them, and reads the same
topic from offset 0. The clock starts once all N are up (the first ones start reading while
the last still imports) with the events they stored by then, and stops when all are stored;
the time from the first launch is reported beside it, and the serve processes' CPU time per
event (their decode workers' not counted). The machine's CPU use over the window
(``/proc/stat``, whoever used it) and the load average say how much of the cores was left:
the broker, this process's polling and every shard's decode worker share them.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from agenttrail.bench.ceiling import produce
from agenttrail.bench.events import encoded_events
from agenttrail.bench.report import STALL_S, BenchError
from agenttrail.bench.served import served
from agenttrail.config import ENV_PREFIX, Settings
from agenttrail.kafka import partition_of
from agenttrail.schemas.codec import default_codec

PARTITIONS = 6
TENANTS_PER_PARTITION = 2
AGENTS_PER_TENANT = 4
SHARD_COUNTS = (1, 2, 3)
_REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2")


def balanced_tenants(partitions: int, per_partition: int) -> list[tuple[str, str]]:
    """(tenant, home region): the first names ``tenant-NNN`` that fill every partition with ``per_partition``."""
    chosen: list[tuple[str, str]] = []
    filled = [0] * partitions
    number = 0
    while min(filled) < per_partition:
        name = f"tenant-{number:03d}"
        partition = partition_of(name.encode(), partitions)
        if filled[partition] < per_partition:
            filled[partition] += 1
            chosen.append((name, _REGIONS[len(chosen) % len(_REGIONS)]))
        number += 1
    return chosen


def measure_scale_out(settings: Settings, bootstrap: str, work: Path, *, events: int,
                      on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Pre-load ``events`` on ``settings``' topics (made with PARTITIONS partitions); one run per shard count."""
    if settings.partitions != PARTITIONS:
        raise BenchError(f"The scale-out stage needs its topics made with {PARTITIONS} partitions.")
    work.mkdir(parents=True, exist_ok=True)
    tenants = balanced_tenants(PARTITIONS, TENANTS_PER_PARTITION)
    records = encoded_events(events, default_codec(), lambda n: None, tenants=tenants,
                             agents=AGENTS_PER_TENANT * len(tenants))
    per_partition = Counter(partition_of(key, PARTITIONS) for key, _ in records)
    produce(settings, bootstrap, records, lambda n: None)
    del records
    runs = []
    for count in SHARD_COUNTS:
        shares = [sum(n for p, n in per_partition.items() if p % count == k) for k in range(count)]
        runs.append(_run(settings, bootstrap, work, shares))
        if on_progress is not None:
            on_progress(events)
    store = sum(path.stat().st_size for path in work.glob("scale1-shard1.duckdb*"))
    return {"events": events, "partitions": PARTITIONS, "tenants": len(tenants), "runs": runs,
            "partition_events": [per_partition[p] for p in range(PARTITIONS)],
            "store_bytes_per_event": store / events}


def _run(settings: Settings, bootstrap: str, work: Path, shares: list[int]) -> dict[str, Any]:
    """N shards (one per share: the events of its partitions) from launch to every event stored; events/s over
    the window in which all N were up."""
    count, events = len(shares), sum(shares)
    launched = time.perf_counter()
    with ExitStack() as stack:
        urls = [stack.enter_context(served(settings, bootstrap, work, name=f"scale{count}-shard{k}",
                                           env={f"{ENV_PREFIX}SHARD": f"{k}/{count}"})).url
                for k in range(1, count + 1)]
        with httpx.Client(timeout=30.0) as client:
            up, cpu_before = time.perf_counter(), _cpu_jiffies()
            serve_cpu = -sum(_stats(client, url)["otlp"]["process_cpu_seconds"] for url in urls)
            stored = [_stored(client, url) for url in urls]
            stored_when_up, finished = sum(stored), [0.0] * count
            last_change = time.monotonic()
            while not all(finished):
                time.sleep(0.05)
                now = [_stored(client, url) if not finished[i] else stored[i] for i, url in enumerate(urls)]
                for i, share in enumerate(shares):
                    if not finished[i] and now[i] >= share:
                        finished[i] = time.perf_counter()
                if now != stored:
                    stored, last_change = now, time.monotonic()
                elif time.monotonic() - last_change > STALL_S:
                    raise BenchError(f"{count} shards stalled at {sum(now):,} of {events:,} events stored.")
            done, cpu_after = time.perf_counter(), _cpu_jiffies()
            serve_cpu += sum(_stats(client, url)["otlp"]["process_cpu_seconds"] for url in urls)
    if stored != shares:
        raise BenchError(f"{count} shards stored {stored} events where their partitions hold {shares}.")
    window = max(done - up, 1e-3)
    return {"shards": count, "events_per_s": (events - stored_when_up) / window,
            "from_launch_s": done - launched, "window_s": window, "stored_before_window": stored_when_up,
            "tail_s": done - min(finished), "per_shard": stored,
            "serve_cpu_us": serve_cpu / max(events - stored_when_up, 1) * 1e6,
            "cpu_busy_pct": _busy_pct(cpu_before, cpu_after), "load_average": round(os.getloadavg()[0], 2)}


def _stats(client: httpx.Client, url: str) -> dict[str, Any]:
    """What the shard's ``GET /v1/stats`` says: its pipeline's counts and its process's CPU time."""
    return dict(client.get(f"{url}/v1/stats").json())


def _stored(client: httpx.Client, url: str) -> int:
    return int(_stats(client, url)["stored"])


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat; None where there is none."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _busy_pct(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The machine's CPU use between two readings, in % of one core (200% is both of two cores)."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return 100.0 * (os.cpu_count() or 1) * (after[0] - before[0]) / (after[1] - before[1])


def speedups(runs: Sequence[dict[str, Any]]) -> list[float]:
    """Each run's events/s over the one-shard run's."""
    return [run["events_per_s"] / runs[0]["events_per_s"] for run in runs]
