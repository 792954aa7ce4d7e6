"""Every kafka-python exception is converted into our tree by map_kafka_errors, with a sentence."""

from __future__ import annotations

import inspect

import kafka.errors
import pytest

from agenttrail import BrokerError
from agenttrail.kafka import map_kafka_errors

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
