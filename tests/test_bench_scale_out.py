"""Stage (n) at a tiny size: 1, 2 and 3 real `serve --shard` processes store a pre-loaded six-partition topic.

Speed is measured, never asserted.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from agenttrail.bench.scale_out import PARTITIONS, balanced_tenants, measure_scale_out
from agenttrail.bench.scale_out_table import scale_out_rows
from agenttrail.broker import EmbeddedBroker
from agenttrail.config import load_settings
from agenttrail.kafka import ensure_topics, partition_of


def test_balanced_tenants_fill_every_partition_alike() -> None:
    tenants = balanced_tenants(PARTITIONS, 2)
    assert sorted(partition_of(name.encode(), PARTITIONS) for name, _ in tenants) == sorted(
        list(range(PARTITIONS)) * 2)


def test_the_scale_out_stage_stores_every_event_with_one_two_and_three_shards(tmp_path: Path) -> None:
    with EmbeddedBroker() as broker:
        settings = load_settings(bootstrap=broker.bootstrap, db=tmp_path / "bench.duckdb",
                                 spool_dir=tmp_path / "spool", fingerprint_key=secrets.token_urlsafe(32),
                                 topic_prefix="bench-scale", partitions=PARTITIONS)
        ensure_topics(settings, broker.bootstrap)
        seen: list[int] = []
        found = measure_scale_out(settings, broker.bootstrap, tmp_path / "scale", events=3000,
                                  on_progress=seen.append)
    assert [run["shards"] for run in found["runs"]] == [1, 2, 3] and sum(seen) == 3 * 3000
    assert all(sum(run["per_shard"]) == 3000 and run["events_per_s"] > 0 for run in found["runs"])
    assert sum(found["partition_events"]) == 3000 and found["store_bytes_per_event"] > 0
    rows = scale_out_rows(found)
    assert len(rows) == 4 and all(row.value > 0 for row in rows)
