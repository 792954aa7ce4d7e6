"""Every kafka-python exception and every librdkafka error is converted into our tree by map_kafka_errors,
with a sentence; the ones that mean "no answer" become BrokerUnavailableError (the SDK spools on it)."""

from __future__ import annotations

import inspect

import kafka.errors
import pytest

from agenttrail import BrokerError, BrokerUnavailableError
from agenttrail.kafka import map_kafka_errors

try:
    import confluent_kafka
except ImportError:  # the librdkafka cases are then an empty parameter set, reported as skipped
    confluent_kafka = None  # type: ignore[assignment]

FOREIGN = sorted(
    (cls for _, cls in inspect.getmembers(kafka.errors, inspect.isclass)
     if issubclass(cls, kafka.errors.KafkaError)),
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize("foreign", FOREIGN, ids=lambda cls: cls.__name__)
def test_every_kafka_error_becomes_a_broker_error_sentence(foreign: type[Exception]) -> None:
    with pytest.raises(BrokerError) as caught, map_kafka_errors("kafka-1:9092"):
        raise foreign("boom")
    assert "kafka-1:9092" in str(caught.value)
    assert str(caught.value).endswith(".")


CONFLUENT_CODES = sorted({code for code in vars(confluent_kafka.KafkaError).values() if isinstance(code, int)}
                         if confluent_kafka else ())


@pytest.mark.parametrize("code", CONFLUENT_CODES, ids=lambda code: confluent_kafka.KafkaError(code).name())
def test_every_librdkafka_error_becomes_a_broker_error_sentence(code: int) -> None:
    error = confluent_kafka.KafkaError(code)
    with pytest.raises(BrokerError) as caught, map_kafka_errors("kafka-1:9092"):
        raise confluent_kafka.KafkaException(error)
    assert "kafka-1:9092" in str(caught.value)
    assert str(caught.value).endswith(".")
    assert "KafkaError{" not in str(caught.value), "the sentence, not librdkafka's repr"
    no_answer = {confluent_kafka.KafkaError._TRANSPORT, confluent_kafka.KafkaError._ALL_BROKERS_DOWN,
                 confluent_kafka.KafkaError._MSG_TIMED_OUT}
    if error.retriable() or code in no_answer:
        assert isinstance(caught.value, BrokerUnavailableError)
