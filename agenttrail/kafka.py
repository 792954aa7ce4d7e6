"""All Kafka access goes through this module: kafka-python, or confluent-kafka when configured.

Callers see the ``Producer`` and ``Consumer`` protocols (``agenttrail.kafka_protocols``), the few
operations they use, in kafka-python's shape; ``make_producer`` and ``make_consumer`` pick the client from
``AGENTTRAIL_KAFKA_CLIENT`` (``agenttrail.kafka_confluent`` holds the librdkafka one, installed with
``pip install 'agenttrail[fast]'``). Topic administration always uses kafka-python: it is off the hot path.

Either client's errors are converted into ``BrokerError`` here and nowhere else
(``map_kafka_errors``); ``tests/test_kafka_errors.py`` proves every kafka-python
exception class and every librdkafka error code maps to something with a sentence a person can act on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, cast

import kafka.errors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.partitioner.default import murmur2

from agenttrail._exceptions import BrokerError, BrokerUnavailableError, ConfigError
from agenttrail.config import Settings
from agenttrail.kafka_protocols import Consumer, Delivery, Producer, Record

try:
    from confluent_kafka import KafkaException as ConfluentError

    from agenttrail import kafka_confluent
    CONFLUENT_ERRORS: tuple[type[Exception], ...] = (ConfluentError,)
except ImportError:  # the [fast] extra is not installed: kafka-python only
    CONFLUENT_ERRORS = ()

__all__ = [
    "Consumer",
    "Delivery",
    "Producer",
    "Record",
    "TopicPartition",
    "abandon_producer",
    "admin_client",
    "ensure_topics",
    "make_consumer",
    "make_producer",
    "map_kafka_errors",
    "partition_of",
    "send_and_wait",
    "topic_ids",
]

log = logging.getLogger("agenttrail.kafka")

PIPELINE_TOPICS = ("actions", "control", "deadletter", "alerts", "revocations", "erasures")
# Topics whose newest record per key is the state (revocations: one key per token or agent; erasures: per subject).
COMPACTED_TOPICS = frozenset({"revocations", "erasures"})

_UNREACHABLE = (
    kafka.errors.KafkaConnectionError,
    kafka.errors.KafkaTimeoutError,
    kafka.errors.MetadataEmptyBrokerList,
    kafka.errors.RetriableError,
    kafka.errors.NodeNotReadyError,
    kafka.errors.RequestTimedOutError,
    kafka.errors.BrokerNotAvailableError,
    kafka.errors.LeaderNotAvailableError,
    kafka.errors.NotLeaderForPartitionError,
)


# What send_and_wait and abandon_producer take as "not acked" from either client.
_CLIENT_ERRORS = (kafka.errors.KafkaError, *CONFLUENT_ERRORS)


@contextmanager
def map_kafka_errors(bootstrap: str) -> Iterator[None]:
    """Turn any kafka-python or confluent-kafka error raised inside the block into a BrokerError sentence."""
    try:
        yield
    except _UNREACHABLE as exc:
        raise _unavailable(bootstrap, type(exc).__name__) from None
    except kafka.errors.KafkaError as exc:
        raise BrokerError(f"Kafka at {bootstrap} refused the request: {exc}.") from None
    except CONFLUENT_ERRORS as exc:
        unreachable, name, reason = kafka_confluent.describe(exc)
        if unreachable:
            raise _unavailable(bootstrap, name) from None
        raise BrokerError(f"Kafka at {bootstrap} refused the request: {reason}.") from None


def _unavailable(bootstrap: str, what: str) -> BrokerUnavailableError:
    return BrokerUnavailableError(f"Kafka at {bootstrap} did not answer ({what}); "
                                  "check that the broker is running and --bootstrap is right.")


def client_config(settings: Settings, bootstrap: str) -> dict[str, Any]:
    """Connection settings shared by producer, consumer and admin (SASL/TLS passed through)."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap.split(","),
        "security_protocol": settings.security_protocol,
        "client_id": "agenttrail",
    }
    if settings.sasl_mechanism:
        config["sasl_mechanism"] = settings.sasl_mechanism
        config["sasl_plain_username"] = settings.sasl_username
        if settings.sasl_password is not None:
            config["sasl_plain_password"] = settings.sasl_password.get_secret_value()
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        value = getattr(settings, name)
        if value is not None:
            config[name] = str(value)
    return config


def make_producer(settings: Settings, bootstrap: str, **overrides: Any) -> Producer:
    """An idempotent acks=all producer whose requests give up within the delivery timeout.

    With kafka-python, making one gives up within that timeout too: it asks the broker for its
    version before it returns, and waited 30 s for a broker that accepts connections but does not
    answer (a hung host), so a fail_closed action took 30 s to be refused and the SDK's sender
    stopped spooling for 30 s at each attempt to reconnect. librdkafka connects lazily: making one
    never waits, and its first send gives up within the delivery timeout instead.
    """
    linger_ms = overrides.pop("linger_ms", 5)
    config = client_config(settings, bootstrap) | {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": linger_ms,
        "batch_size": 512 * 1024,
        "max_request_size": settings.max_event_bytes + 64 * 1024,
        "delivery_timeout_ms": settings.delivery_timeout_ms,
        "request_timeout_ms": max(settings.delivery_timeout_ms - linger_ms - 100, 400),
        "max_block_ms": settings.delivery_timeout_ms,
        "bootstrap_timeout_ms": settings.delivery_timeout_ms,
        "retry_backoff_ms": 50,
        "reconnect_backoff_max_ms": 500,
    }
    with map_kafka_errors(bootstrap):
        if _confluent(settings):
            return kafka_confluent.ConfluentProducer(config | overrides)
        return KafkaProducer(**(config | overrides))


def _confluent(settings: Settings) -> bool:
    """Whether to use confluent-kafka; ConfigError when it is asked for and not installed."""
    if settings.kafka_client != "confluent":
        return False
    if not CONFLUENT_ERRORS:
        raise ConfigError("AGENTTRAIL_KAFKA_CLIENT=confluent needs confluent-kafka: "
                          "pip install 'agenttrail[fast]', or set AGENTTRAIL_KAFKA_CLIENT=kafka-python.")
    return True


def send_and_wait(producer: Producer, topic: str, records: Sequence[tuple[bytes | None, bytes | None]],
                  timeout_s: float) -> list[bool]:
    """Send ``records`` and wait up to ``timeout_s`` for acks; one flag per record, never raises.

    kafka-python raises from ``send`` (no metadata within max_block_ms) and from
    ``flush`` (timeout); both mean "not acked", which the caller handles by spooling.
    """
    futures = []
    try:
        for key, value in records:
            futures.append(producer.send(topic, key=key, value=value))
        producer.flush(timeout=timeout_s)
    except _CLIENT_ERRORS:
        pass
    acked = [f.is_done and f.succeeded() for f in futures]
    return acked + [False] * (len(records) - len(acked))


def abandon_producer(producer: Producer) -> None:
    """Close at once, dropping unsent records (the caller has spooled them).

    librdkafka purges them. kafka-python 3.0's ``close(timeout=0)`` flushes first and raises when records
    are pending, before it reaches its own force-close; so force-close the sender
    thread here, after which ``close`` finds nothing pending.
    """
    if not isinstance(producer, KafkaProducer):
        cast("kafka_confluent.ConfluentProducer", producer).abandon()
        return
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
        sender.join(timeout=2)
    try:
        producer.close(timeout=0, null_logger=True)
    except kafka.errors.KafkaError:
        log.debug("producer close after force-close still reported pending records")


def make_consumer(settings: Settings, bootstrap: str, **overrides: Any) -> Consumer:
    """A consumer with no group and no auto-commit: offsets live in DuckDB."""
    config = client_config(settings, bootstrap) | {
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": 20,
        "max_poll_records": settings.batch_max_records,
        "max_partition_fetch_bytes": 8 * 1024 * 1024,
        "fetch_max_bytes": 64 * 1024 * 1024,
        "reconnect_backoff_max_ms": 500,
        "request_timeout_ms": 10_000,
    }
    with map_kafka_errors(bootstrap):
        if _confluent(settings):
            return kafka_confluent.ConfluentConsumer(config | overrides)
        return KafkaConsumer(**(config | overrides))


@contextmanager
def admin_client(settings: Settings, bootstrap: str) -> Iterator[KafkaAdminClient]:
    with map_kafka_errors(bootstrap):
        admin = KafkaAdminClient(**client_config(settings, bootstrap), request_timeout_ms=10_000)
    try:
        with map_kafka_errors(bootstrap):
            yield admin
    finally:
        admin.close()


def ensure_topics(settings: Settings, bootstrap: str, names: tuple[str, ...] = PIPELINE_TOPICS) -> None:
    """Create the pipeline topics if they are missing; existing topics are left as they are."""
    with admin_client(settings, bootstrap) as admin:
        existing = set(admin.list_topics())
        missing = [NewTopic(settings.topic(name), settings.partitions, 1,
                            topic_configs={"cleanup.policy": "compact"} if name in COMPACTED_TOPICS else {})
                   for name in names if settings.topic(name) not in existing]
        if missing:
            # Another process may create one between our list and create: that is fine.
            with suppress(kafka.errors.TopicAlreadyExistsError):
                admin.create_topics(missing)


def topic_ids(settings: Settings, bootstrap: str, topics: list[str]) -> dict[str, str]:
    """Topic name -> topic id: a broker that forgot its log gives its topics new ids."""
    with admin_client(settings, bootstrap) as admin:
        described = admin.describe_topics(topics)
    return {d["name"]: str(d.get("topic_id") or "") for d in described}


def partition_of(key: bytes, partitions: int) -> int:
    """The partition the producer's default partitioner sends ``key`` to, among ``partitions``.

    kafka-python's default, like the Java client's: positive murmur2 of the key bytes modulo the
    partition count. A producer that partitions otherwise (librdkafka's default is CRC32) must be
    set to murmur2, or shards would route a tenant to a partition its events are not in.
    """
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def partitions_for(consumer: Consumer, topic: str) -> list[TopicPartition]:
    parts = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(parts)]
