"""(n) The scale-out rows of the bench table: events/s stored with every projection by 1, 2 and 3 shards."""

from __future__ import annotations

import os
from typing import Any

from agenttrail.bench.report import Measure
from agenttrail.bench.scale_out import speedups

STAGE = "(n) scale-out"


def scale_out_rows(scale_out: dict[str, Any] | None) -> list[Measure]:
    if scale_out is None:
        return [Measure(STAGE, "skipped (--scale-out-events 0)", 0, "")]
    runs = scale_out["runs"]
    rows, cores = [], 100 * (os.cpu_count() or 1)
    for run, speedup in zip(runs, speedups(runs), strict=True):
        busy = "" if run["cpu_busy_pct"] is None else f"{run['cpu_busy_pct']:.0f}% of {cores}% CPU, "
        rows.append(Measure(
            STAGE, f"{run['shards']} shard{'s' if run['shards'] > 1 else ''}, {scale_out['partitions']} partitions, "
                   f"every projection", run["events_per_s"], "ev/s",
            note=f"{speedup:.2f}x one shard; serve CPU {run['serve_cpu_us']:,.0f} µs/ev; machine {busy}load "
                 f"{run['load_average']:.2f}; {run['from_launch_s']:.1f} s from launch; per shard "
                 f"{', '.join(f'{n:,}' for n in run['per_shard'])}"))
    rows.append(Measure(STAGE, "store size with every projection (one shard's file), per event",
                        scale_out["store_bytes_per_event"], "B",
                        note=f"{scale_out['events']:,} events of {scale_out['tenants']} tenants"))
    return rows

