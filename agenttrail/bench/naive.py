"""(e) The naive baseline the materializer is compared with."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from agenttrail.bench.ceiling import assigned_consumer
from agenttrail.bench.materializer import expect_rows
from agenttrail.bench.report import STALL_S, BenchError, NaiveResult
from agenttrail.config import Settings
from agenttrail.consumers.batch import EVENT_SCHEMA
from agenttrail.consumers.intake import EVENT_COLUMNS, check, flatten
from agenttrail.consumers.store import insert_new_events, open_store, sql
from agenttrail.kafka import (
    map_kafka_errors,
)
from agenttrail.schemas.codec import Codec, default_codec


def naive_materialize(settings: Settings, bootstrap: str, con: duckdb.DuckDBPyConnection, expected: int,
                      on_progress: Callable[[int], None], codec: Codec | None = None) -> int:
    """THE BASELINE, not the product: the plain way to write a Kafka -> DuckDB consumer.

    Per record: decode, check the contract's rules, flatten to a dict; per poll: one
    ``pa.Table.from_pylist`` insert, the offsets upserted and committed in the same
    transaction (so it is exactly-once too). Returns the number of transactions.
    """
    codec = codec or default_codec()
    skew = timedelta(seconds=settings.future_skew_s)
    consumer = assigned_consumer(settings, bootstrap)
    done = transactions = 0
    last_progress = time.monotonic()
    try:
        while done < expected:
            with map_kafka_errors(bootstrap):
                polled = consumer.poll(timeout_ms=100)
            if not polled:
                if time.monotonic() - last_progress > STALL_S:
                    raise BenchError(f"The naive baseline stalled at {done} of {expected} events.")
                continue
            received_at = datetime.now(UTC)
            rows: list[dict[str, Any]] = []
            offsets: dict[tuple[str, int], int] = {}
            for tp, records in polled.items():
                for record in records:
                    offsets[(tp.topic, tp.partition)] = record.offset + 1
                    event = codec.decode(record.value)
                    if check(event, received_at, skew) is not None:
                        continue  # a real consumer would quarantine it; the bench topic has none
                    values = flatten(event, record.value, done + len(rows), received_at,
                                     record.topic, record.partition, record.offset)
                    rows.append(dict(zip(EVENT_COLUMNS, values, strict=True)))
            con.begin()
            try:
                insert_new_events(con, pa.Table.from_pylist(rows, schema=EVENT_SCHEMA))
                for (topic, partition), next_offset in offsets.items():
                    con.execute(sql("upsert_offset"), {"topic": topic, "partition": partition,
                                                       "next_offset": next_offset, "topic_id": ""})
                con.commit()
            except BaseException:
                con.rollback()
                raise
            transactions += 1
            done += sum(len(records) for records in polled.values())
            on_progress(sum(len(records) for records in polled.values()))
            last_progress = time.monotonic()
    finally:
        consumer.close()
    return transactions


def measure_naive(settings: Settings, bootstrap: str, db: Path, expected: int,
           on_progress: Callable[[int], None]) -> NaiveResult:
    con = open_store(db)
    try:
        t0, cpu0 = time.perf_counter(), time.process_time()
        transactions = naive_materialize(settings, bootstrap, con, expected, on_progress)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        expect_rows(con, expected, "naive baseline")
    finally:
        con.close()
    return NaiveResult(events=expected, seconds=seconds, events_per_s=expected / seconds, cpu_seconds=cpu,
                       transactions=transactions)
