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

from agenttrail.config import Settings
from agenttrail.kafka import make_producer
from agenttrail.schemas.codec import default_codec
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
