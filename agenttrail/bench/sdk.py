"""(b) The agent's view: an async emit call, a whole ``with trail.action(...)`` block, events/s to flush."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from agenttrail.bench.events import sample_events
from agenttrail.bench.report import (
    ACTION_BLOCKS_MAX,
    EMIT_POOL_MAX,
    PROGRESS_EVERY,
    STALL_S,
    BenchError,
    SdkResult,
    percentile,
)
from agenttrail.config import Settings
from agenttrail.producers.trail import connect


def measure_sdk(settings: Settings, spool_dir: Path, count: int, on_progress: Callable[[int], None]) -> SdkResult:
    trail = connect(tenant="acme", agent_id="bench-agent", agent_version="1.0.0", region="eu-west-1",
                    principal="service:bench", model="gpt-4.1", settings=settings, spool_dir=spool_dir)
    try:
        pool = [{k: v for k, v in e.items() if k != "integrity"}
                for e in sample_events(min(count, EMIT_POOL_MAX), seed=11)]
        emit, clock = trail.emit, time.perf_counter_ns
        latencies = [0] * count
        flush_timeout = max(STALL_S, count / 500)
        t0 = time.perf_counter()
        for i in range(count):
            event = pool[i % len(pool)]
            start = clock()
            emit(event)
            latencies[i] = clock() - start
            if (i + 1) % PROGRESS_EVERY == 0:
                on_progress(PROGRESS_EVERY)
        on_progress(count % PROGRESS_EVERY)
        if not trail.flush(flush_timeout):
            raise BenchError(f"The SDK did not deliver {count} events within {flush_timeout:.0f} s.")
        seconds = time.perf_counter() - t0
        stats = trail.emitter.stats
        if stats.acked != count:
            raise BenchError(f"The SDK acked {stats.acked} of {count} events (spooled {stats.spooled}, "
                             f"refused {stats.refused}).")

        blocks = min(count, ACTION_BLOCKS_MAX)
        block_latencies = [0] * blocks
        for i in range(blocks):
            start = clock()
            with trail.action("tool.call", "search_web", resource=("api", "search.example.com"),
                              attributes={"query": "q-17"}) as act:
                act.set_cost("0.005", "USD")
            block_latencies[i] = clock() - start
        if not trail.flush(flush_timeout):
            raise BenchError(f"The SDK did not deliver {blocks} action events within {flush_timeout:.0f} s.")
    finally:
        trail.close(timeout=10)
    return SdkResult(
        events=count,
        emit_p50_us=percentile(latencies, 0.50) / 1000, emit_p99_us=percentile(latencies, 0.99) / 1000,
        action_blocks=blocks, action_p50_us=percentile(block_latencies, 0.50) / 1000,
        action_p99_us=percentile(block_latencies, 0.99) / 1000,
        seconds=seconds, events_per_s=count / seconds, ratio_to_produce=0.0,
    )
