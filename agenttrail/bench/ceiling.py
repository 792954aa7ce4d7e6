"""(a) The Kafka client's own ceiling: pre-encoded events produced and consumed with the client alone
(kafka-python, or confluent-kafka with AGENTTRAIL_KAFKA_CLIENT=confluent)."""

from __future__ import annotations

import time
from collections.abc import Callable

from agenttrail.bench.report import PROGRESS_EVERY, STALL_S, BenchError
from agenttrail.config import Settings
from agenttrail.kafka import (
    Consumer,
    make_consumer,
    make_producer,
    map_kafka_errors,
    partitions_for,
)


def produce(settings: Settings, bootstrap: str, records: list[tuple[bytes, bytes]],
             on_progress: Callable[[int], None]) -> float:
    """Seconds from the first send to ``flush`` returning (every record acked or failed).

    One future in PROGRESS_EVERY carries an errback (a callback on each would slow the
    ceiling down); a lost record is caught anyway, because the consume stage counts them all.
    """
    topic = settings.topic("actions")
    failures: list[BaseException] = []
    producer = make_producer(settings, bootstrap)
    try:
        with map_kafka_errors(bootstrap):
            t0 = time.perf_counter()
            for i, (key, value) in enumerate(records, 1):
                future = producer.send(topic, key=key, value=value)
                if i % PROGRESS_EVERY == 0:
                    future.add_errback(failures.append)
                    on_progress(PROGRESS_EVERY)
            producer.flush(timeout=max(STALL_S, len(records) / 1000))
            seconds = time.perf_counter() - t0
    finally:
        producer.close(timeout=5)
    on_progress(len(records) % PROGRESS_EVERY)
    if failures:
        raise BenchError(f"The broker refused records during the produce ceiling: {failures[0]!r}.")
    return seconds


def assigned_consumer(settings: Settings, bootstrap: str) -> Consumer:
    consumer = make_consumer(settings, bootstrap)
    with map_kafka_errors(bootstrap):
        parts = partitions_for(consumer, settings.topic("actions"))
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
    return consumer


def consume(settings: Settings, bootstrap: str, expected: int, on_progress: Callable[[int], None]) -> float:
    """Seconds to poll ``expected`` records from offset 0, doing nothing with them."""
    consumer = assigned_consumer(settings, bootstrap)
    got, last_progress = 0, time.monotonic()
    try:
        with map_kafka_errors(bootstrap):
            t0 = time.perf_counter()
            while got < expected:
                polled = consumer.poll(timeout_ms=200)
                n = sum(len(part) for part in polled.values())
                got += n
                if n:
                    on_progress(n)
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > STALL_S:
                    raise BenchError(f"The consume ceiling stalled at {got} of {expected} records.")
            seconds = time.perf_counter() - t0
    finally:
        consumer.close()
    return seconds
