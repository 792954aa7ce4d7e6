"""Both Kafka clients behave alike where our callers depend on them: partitioning, seeks, end offsets."""

from __future__ import annotations

import time

from agenttrail.config import Settings
from agenttrail.kafka import Consumer, Record, make_consumer, make_producer, partition_of, partitions_for, send_and_wait


def _read_all(consumer: Consumer, expected: int) -> list[Record]:
    found: list[Record] = []
    deadline = time.monotonic() + 15
    while len(found) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            found.extend(records)
    return found


def test_a_tenant_lands_on_the_partition_partition_of_names_with_either_client(
    kafka_client: str, settings: Settings
) -> None:
    """The shards route a tenant by partition_of (murmur2): librdkafka's CRC32 default would break that."""
    topic = settings.topic("actions")
    keys = [f"tenant-{i}".encode() for i in range(30)]
    producer = make_producer(settings, settings.bootstrap or "")
    assert all(send_and_wait(producer, topic, [(key, b"event") for key in keys], 10))
    producer.close(timeout=5)
    consumer = make_consumer(settings, settings.bootstrap or "")
    parts = partitions_for(consumer, topic)
    consumer.assign(parts)
    found = _read_all(consumer, len(keys))
    consumer.close()
    placed = {r.key: r.partition for r in found if r.key is not None}
    assert sorted(placed) == sorted(keys)
    assert all(partition == partition_of(key, len(parts)) for key, partition in placed.items())


def test_a_seek_starts_the_next_poll_there_and_the_high_watermark_is_the_end(
    kafka_client: str, settings: Settings
) -> None:
    """The materializer seeks each partition to its DuckDB offset; health reads lag from the high watermark."""
    topic = settings.topic("actions")
    producer = make_producer(settings, settings.bootstrap or "")
    assert all(send_and_wait(producer, topic, [(b"acme", b"%d" % i) for i in range(10)], 10))
    producer.close(timeout=5)
    consumer = make_consumer(settings, settings.bootstrap or "")
    acme = partition_of(b"acme", settings.partitions)
    part = next(tp for tp in partitions_for(consumer, topic) if tp.partition == acme)
    consumer.assign([part])
    consumer.seek(part, 6)
    found = _read_all(consumer, 4)
    assert [(r.offset, r.value) for r in found] == [(i, b"%d" % i) for i in range(6, 10)]
    assert consumer.position(part) == 10
    assert consumer.highwater(part) == 10
    consumer.seek_to_beginning(part)
    assert [r.offset for r in _read_all(consumer, 10)] == list(range(10))
    consumer.close()
