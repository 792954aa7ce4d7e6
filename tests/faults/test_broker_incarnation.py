"""A broker that forgot its log (the embedded one after a restart) must not make us skip or hang."""

from __future__ import annotations

import logging

import pytest

from agenttrail.broker import EmbeddedBroker
from agenttrail.consumers.store import open_store
from agenttrail.kafka import ensure_topics
from agenttrail.producers.trail import connect
from tests.fixtures import SettingsFactory, materialize


def produce(settings, count: int) -> None:
    trail = connect(tenant="acme", agent_id="a", agent_version="1", region="eu-west-1",
                    principal="human:alice", settings=settings)
    for i in range(count):
        with trail.action("tool.call", f"n{i}"):
            pass
    trail.close()


def test_offsets_from_an_earlier_broker_incarnation_are_reset_with_a_warning(
    settings_factory: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_factory(partitions=1)
    with EmbeddedBroker() as first:
        old = settings.model_copy(update={"bootstrap": first.bootstrap})
        ensure_topics(old, first.bootstrap)
        produce(old, 3)
        con = open_store(settings.db)
        assert materialize(old, con, until=3) == 3
    with EmbeddedBroker() as second:
        new = settings.model_copy(update={"bootstrap": second.bootstrap})
        ensure_topics(new, second.bootstrap)
        produce(new, 6)  # stored offset 3 would silently skip the new log's first 3 events
        with caplog.at_level(logging.WARNING, logger="agenttrail.materializer"):
            assert materialize(new, con, until=9, timeout=30) == 9
    con.close()
    assert "new incarnation" in caplog.text
