"""The confluent-kafka (librdkafka) client behind ``agenttrail.kafka``'s Producer and Consumer protocols.

Chosen with ``AGENTTRAIL_KAFKA_CLIENT=confluent`` (``pip install 'agenttrail[fast]'``); only
``agenttrail.kafka`` imports this module. Its settings are kafka-python's, translated name by name
(``librdkafka_config``), so the two clients cannot drift apart: acks=all, the idempotent producer and the
delivery timeout hold for both. Two settings have no kafka-python name: the murmur2 partitioner (librdkafka's
default is CRC32, which would put a tenant on another partition than ``partition_of`` and the shards expect),
and a group id librdkafka insists on but never uses here: partitions are assigned with explicit offsets from
DuckDB, and nothing is ever committed to Kafka.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException
from kafka import TopicPartition

log = logging.getLogger("agenttrail.kafka.librdkafka")

# kafka-python setting -> librdkafka property. None: nothing to set, because librdkafka never blocks in
# produce() (max_block_ms; a full queue is BufferError, waited out in send), connects lazily
# (bootstrap_timeout_ms), or the value is this module's own (max_poll_records, group_id).
_PROPERTIES: dict[str, str | None] = {
    "bootstrap_servers": "bootstrap.servers",
    "security_protocol": "security.protocol",
    "client_id": "client.id",
    "sasl_mechanism": "sasl.mechanism",
    "sasl_plain_username": "sasl.username",
    "sasl_plain_password": "sasl.password",
    "ssl_cafile": "ssl.ca.location",
    "ssl_certfile": "ssl.certificate.location",
    "ssl_keyfile": "ssl.key.location",
    "acks": "acks",
    "enable_idempotence": "enable.idempotence",
    "linger_ms": "linger.ms",
    "batch_size": "batch.size",
    "max_request_size": "message.max.bytes",
    "delivery_timeout_ms": "delivery.timeout.ms",
    "request_timeout_ms": "request.timeout.ms",
    "retry_backoff_ms": "retry.backoff.ms",
    "reconnect_backoff_max_ms": "reconnect.backoff.max.ms",
    "enable_auto_commit": "enable.auto.commit",
    "auto_offset_reset": "auto.offset.reset",
    "fetch_max_wait_ms": "fetch.wait.max.ms",
    "max_partition_fetch_bytes": "max.partition.fetch.bytes",
    "fetch_max_bytes": "fetch.max.bytes",
    "max_block_ms": None,
    "bootstrap_timeout_ms": None,
    "max_poll_records": None,
    "group_id": None,
}
# A consumer's request timeout is librdkafka's socket timeout; its fetches may not be smaller than
# message.max.bytes, whose floor is 1000 (the health probe asks for 1 byte: one batch comes anyway).
_CONSUMER_PROPERTIES = _PROPERTIES | {"request_timeout_ms": "socket.timeout.ms"}
_MIN_FETCH_BYTES = 1000

# Errors that mean "the broker did not answer", beside every error librdkafka calls retriable.
UNREACHABLE_CODES = frozenset({
    KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._TIMED_OUT, KafkaError._MSG_TIMED_OUT,
    KafkaError._TIMED_OUT_QUEUE, KafkaError._RESOLVE, KafkaError._WAIT_COORD, KafkaError._NODE_UPDATE,
    KafkaError.REQUEST_TIMED_OUT, KafkaError.NETWORK_EXCEPTION, KafkaError.BROKER_NOT_AVAILABLE,
    KafkaError.LEADER_NOT_AVAILABLE, KafkaError.NOT_LEADER_FOR_PARTITION,
})


def describe(exc: Exception) -> tuple[bool, str, str]:
    """Whether the error means the broker could not be reached (rather than refused), its name and sentence."""
    error = exc.args[0] if exc.args else None
    if not isinstance(error, KafkaError):
        return False, type(exc).__name__, str(exc)
    return error.retriable() or error.code() in UNREACHABLE_CODES, error.name(), error.str()


def librdkafka_config(config: dict[str, Any], *, consumer: bool) -> dict[str, Any]:
    """kafka-python's settings under librdkafka's names; ValueError names a setting with no translation."""
    names = _CONSUMER_PROPERTIES if consumer else _PROPERTIES
    translated: dict[str, Any] = {"logger": log}
    for name, value in config.items():
        if name not in names:
            raise ValueError(f"the kafka-python setting {name} has no librdkafka translation")
        prop = names[name]
        if prop is not None and value is not None:
            translated[prop] = ",".join(value) if name == "bootstrap_servers" else value
    if consumer:
        fetch = max(translated.get("fetch.max.bytes", _MIN_FETCH_BYTES), _MIN_FETCH_BYTES)
        translated |= {"group.id": "agenttrail-assigned", "enable.auto.offset.store": False,
                       "fetch.max.bytes": fetch, "message.max.bytes": min(fetch, 1_000_000)}
    else:
        translated["partitioner"] = "murmur2_random"
    return translated


class Delivery:
    """What ``send`` returns: kafka-python's future, as far as callers use it (is_done, succeeded, add_errback)."""

    __slots__ = ("_errbacks", "exception", "is_done")

    def __init__(self) -> None:
        self.is_done = False
        self.exception: KafkaException | None = None
        self._errbacks: list[Callable[[BaseException], Any]] = []

    def __call__(self, error: KafkaError | None, _message: Any) -> None:
        self.is_done = True
        if error is not None:
            self.exception = KafkaException(error)
            for errback in self._errbacks:
                errback(self.exception)

    def succeeded(self) -> bool:
        return self.is_done and self.exception is None

    def add_errback(self, errback: Callable[[BaseException], Any]) -> None:
        if self.exception is not None:
            errback(self.exception)
        self._errbacks.append(errback)


class ConfluentProducer:
    def __init__(self, config: dict[str, Any]) -> None:
        self._producer = confluent_kafka.Producer(librdkafka_config(config, consumer=False))

    def send(self, topic: str, *, key: bytes | None = None, value: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None) -> Delivery:
        """Queue one record; a full local queue is waited out by serving delivery reports."""
        delivery = Delivery()
        named: list[tuple[str, str | bytes | None]] | None = list(headers) if headers else None
        while True:
            try:
                self._producer.produce(topic, value, key, headers=named, on_delivery=delivery)
                return delivery
            except BufferError:
                self._producer.poll(0.05)

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every queued record's ack; KafkaException(_TIMED_OUT) when some are left, like kafka-python."""
        left = self._producer.flush(-1 if timeout is None else timeout)
        if left:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"{left} records not acked within {timeout} s"))

    def close(self, timeout: float | None = None) -> None:
        self._producer.flush(-1 if timeout is None else timeout)
        self._producer.close()

    def abandon(self) -> None:
        """Drop queued and in-flight records at once (the caller spooled them) and release the client."""
        self._producer.purge(in_queue=True, in_flight=True, blocking=False)
        self._producer.poll(0)
        self._producer.close()


class ConsumedRecord(NamedTuple):
    """kafka-python's ConsumerRecord, as far as our callers read it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, Any]]


class ConfluentConsumer:
    """kafka-python's assign/seek/poll consumer over librdkafka.

    librdkafka starts a partition at the offset it is assigned with, and a seek before its first fetch may
    fail, so a seek only records where to start; the next poll assigns again with those offsets.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self._consumer = confluent_kafka.Consumer(librdkafka_config(config, consumer=True))
        self._max_records = int(config.get("max_poll_records", 500))
        self._request_timeout_s = config.get("request_timeout_ms", 10_000) / 1000
        self._starts: dict[TopicPartition, int] = {}  # the assignment, each partition's start
        self._reassign = False
        self._positions: dict[TopicPartition, int] = {}
        self._fetched: set[TopicPartition] = set()  # partitions a record came from since the assignment

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        metadata = self._consumer.list_topics(topic, timeout=self._request_timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return None
        return set(metadata.partitions)

    def assign(self, partitions: list[TopicPartition]) -> None:
        self._starts = dict.fromkeys(partitions, confluent_kafka.OFFSET_BEGINNING)
        self._positions, self._fetched, self._reassign = {}, set(), True

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._starts[partition] = offset
        self._positions[partition] = offset
        self._reassign = True

    def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for partition in partitions or tuple(self._starts):
            self._starts[partition] = confluent_kafka.OFFSET_BEGINNING
            self._positions.pop(partition, None)
        self._reassign = True

    def unsubscribe(self) -> None:
        self._consumer.unassign()
        self.assign([])

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[TopicPartition, list[ConsumedRecord]]:
        """Records by partition, returning as soon as any are there (at most ``max_records``, or after the wait)."""
        if self._reassign:
            self._consumer.assign([confluent_kafka.TopicPartition(tp.topic, tp.partition, self._positions.get(tp, s))
                                   for tp, s in self._starts.items()])
            self._reassign = False
        limit = max_records or self._max_records
        messages = self._consumer.consume(limit, 0)
        if not messages and timeout_ms > 0:
            first = self._consumer.poll(timeout_ms / 1000)
            messages = [first, *self._consumer.consume(limit - 1, 0)] if first is not None else []
        polled: dict[TopicPartition, list[ConsumedRecord]] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                if error.retriable():
                    continue
                raise KafkaException(error)
            tp = TopicPartition(message.topic(), message.partition())
            offset = int(message.offset() or 0)  # a message without an error has an offset
            headers: Any = message.headers() or []  # (name, bytes) pairs: only a producer may pass a dict
            polled.setdefault(tp, []).append(ConsumedRecord(tp.topic, tp.partition, offset, message.key(),
                                                            message.value(), headers))
            self._positions[tp] = offset + 1
        self._fetched.update(polled)
        return polled

    def position(self, partition: TopicPartition) -> int:
        if partition in self._positions:
            return self._positions[partition]
        low, _high = self._consumer.get_watermark_offsets(
            confluent_kafka.TopicPartition(partition.topic, partition.partition), timeout=self._request_timeout_s)
        return int(low)

    def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: int(self._consumer.get_watermark_offsets(
                    confluent_kafka.TopicPartition(tp.topic, tp.partition), timeout=self._request_timeout_s)[1])
                for tp in partitions}

    def highwater(self, partition: TopicPartition) -> int | None:
        """The high watermark of this assignment's fetches: known once a record came from the partition, or once
        a fetch said there is nothing past where it stands (None until then, like kafka-python's)."""
        _low, high = self._consumer.get_watermark_offsets(
            confluent_kafka.TopicPartition(partition.topic, partition.partition), cached=True)
        if high < 0:
            return None
        if partition in self._fetched or self._positions.get(partition, 0) >= high:
            return int(high)
        return None

    def close(self) -> None:
        self._consumer.close()
