"""Hand-built hash-chained streams for the integrity tests, published through a real broker.

The SDK never skips, reorders or forges a sequence number, so tests that need
one build the stream's events here (sealed exactly like the emitter does) and
publish a chosen subset in a chosen order; the real materializer stores them.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest

from agenttrail.config import Settings
from agenttrail.consumers.projections.checkpoints import CheckpointSealer
from agenttrail.consumers.store import open_store
from agenttrail.kafka import make_producer
from agenttrail.schemas.codec import default_codec
from tests.fixtures import SettingsFactory, TrailFactory, materialize
from tests.test_codec import sample_event


def hash_chain(count: int, stream_id: str = "agent-1/s1", **changes: Any) -> list[bytes]:
    """``count`` encoded events of one stream, seq 0.., each carrying the SHA-256 of the previous."""
    codec, prev, values = default_codec(), None, []
    for seq in range(count):
        event = sample_event(event_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC),
                             integrity={"stream_id": stream_id, "seq": seq, "prev_hash": prev}, **changes)
        value = codec.encode(event)
        values.append(value)
        prev = hashlib.sha256(value).hexdigest()
    return values


def encoded(**changes: Any) -> bytes:
    """One event with ``changes`` (e.g. a forged integrity block)."""
    return default_codec().encode(sample_event(event_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), **changes))


def publish(settings: Settings, values: list[bytes]) -> None:
    """Send ``values`` in this order to one partition of the actions topic and wait for the acks."""
    producer = make_producer(settings, settings.bootstrap or "")
    for value in values:
        producer.send(settings.topic("actions"), key=b"acme", value=value)
    producer.flush(10)
    producer.close()


EVENTS = 25


@pytest.fixture
def sealed(settings_factory: SettingsFactory, trail_factory: TrailFactory) -> Settings:
    """25 real SDK events stored by the real materializer, sealed into checkpoints of 10, 10 and 5."""
    settings = settings_factory(checkpoint_events=10, checkpoint_idle_s=0)
    trail = trail_factory(settings_=settings)
    for i in range(EVENTS):
        with trail.action("llm.call", f"draft-{i}") as act:
            act.set_cost(f"0.00{i % 10}100000", "USD", input_tokens=100 + i, output_tokens=10)
    assert trail.flush(10)
    con = open_store(settings.db)
    try:
        assert materialize(settings, con, until=EVENTS) == EVENTS
        CheckpointSealer(settings).on_idle(con)
    finally:
        con.close()
    return settings


def tamper(settings: Settings, *statements: str) -> None:
    con = duckdb.connect(str(settings.db))
    for statement in statements:
        con.execute(statement)
    con.close()
