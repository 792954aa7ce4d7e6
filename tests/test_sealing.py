"""Sealed personal values: the cipher and its keys, their order on the topic, erasure's edges in the materializer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import duckdb
import pytest
from pydantic import SecretStr

from agenttrail._exceptions import SealingError
from agenttrail.config import Settings
from agenttrail.kafka import make_consumer, make_producer, partitions_for
from agenttrail.producers.control import publish_control
from agenttrail.producers.keyring import Keyring
from agenttrail.schemas.codec import Codec, default_codec, is_subject_key, shipped_schemas, subject_key_codec
from agenttrail.schemas.control import SubjectErased
from agenttrail.schemas.sealing import ID, DataKey, SubjectKeys
from tests.fixtures import FINGERPRINT_KEY, TrailFactory, cli_as, materialize
from tests.test_codec import sample_event

KEYS = SubjectKeys(SecretStr(FINGERPRINT_KEY), "k1")


def test_a_sealed_value_opens_only_under_its_key_and_only_as_its_reference_says() -> None:
    key, other = DataKey.new("human:alice"), DataKey.new("human:alice")
    ref, sealed = key.seal(ID, "alice")
    assert key.seal(ID, "alice") == (ref, sealed), "one value, one reference and ciphertext per key"
    assert other.ref(ID, "alice") != ref, "a pseudonym means nothing without its key"
    assert key.open(ID, ref, sealed) == "alice"
    with pytest.raises(SealingError):
        other.open(ID, ref, sealed)
    with pytest.raises(SealingError):
        key.open(ID, ref, {**sealed, "ciphertext": bytes([sealed["ciphertext"][0] ^ 1]) + sealed["ciphertext"][1:]})
    with pytest.raises(SealingError):
        key.open(ID, key.ref(ID, "mallory"), sealed)


def test_a_wrapped_key_opens_only_with_the_fingerprint_key_for_its_own_id_and_tenant() -> None:
    key = DataKey.new("human:alice")
    wrapped = KEYS.wrap(key, "acme")
    assert KEYS.unwrap(key.key_id, "acme", wrapped).dek == key.dek
    for key_id, tenant, keys in ((key.key_id, "globex", KEYS), ("0" * 24, "acme", KEYS),
                                 (key.key_id, "acme", SubjectKeys(SecretStr("another-key-0123456789"), "k1"))):
        with pytest.raises(SealingError):
            keys.unwrap(key_id, tenant, wrapped)


def test_each_new_persons_key_precedes_their_first_event_in_the_tenants_partition(
        settings: Settings, trail_factory: TrailFactory) -> None:
    alice = trail_factory(principal="human:alice")
    with alice.action("tool.call", "search"):
        pass
    bob = alice.for_agent(tenant="acme", agent_id="agent-2", agent_version="1.0.0", region="eu-west-1",
                          principal="human:bob")
    with bob.action("token.issue", "grant") as act:  # fail_closed: its own producer, its own copy of the key
        act.use_token("at_bob_" + "b" * 24)
    with alice.action("tool.call", "search"), bob.action("tool.call", "search"):
        pass
    assert alice.flush(10)
    consumer = make_consumer(settings, settings.bootstrap or "")
    consumer.assign(partitions_for(consumer, settings.topic("actions")))
    consumer.seek_to_beginning()
    values = [r.value or b"" for _ in range(10) for records in consumer.poll(timeout_ms=300).values() for r in records]
    consumer.close()
    first_use: dict[str, int] = {}
    key_at: dict[str, int] = {}
    for at, value in enumerate(values):
        if is_subject_key(value):
            key_at.setdefault(subject_key_codec().decode(value)["key_id"], at)
        else:
            event = default_codec().decode(value)
            first_use.setdefault(event["principal"]["sealed"]["key_id"], at)
    assert len(first_use) == 2 and all(key_at[key] < at for key, at in first_use.items())
    assert not [v for v in values if b"alice" in v or b"bob" in v]


def test_a_key_made_before_an_erasure_that_reaches_the_store_after_it_is_destroyed_on_arrival(
        settings: Settings, store: duckdb.DuckDBPyConnection) -> None:
    keyring = Keyring(settings)
    event = sample_event(event_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC),
                         principal={"kind": "human", "id": "alice"})
    sealed, key_ids = keyring.seal(event)  # the key is made now, before the erasure
    records = [*keyring.records_for(key_ids), (b"acme", default_codec().encode(sealed))]
    agenttrail = cli_as(settings, "dpo")
    erased = agenttrail("erase", "--subject", "alice", "--reason", "request 4711")
    assert erased.returncode == 0, erased.stderr
    assert materialize(settings, store, until=1, table="control_events") == 1
    producer = make_producer(settings, settings.bootstrap or "")
    for key, value in records:
        producer.send(settings.topic("actions"), key=key, value=value)
    producer.flush(10)
    producer.close()
    assert materialize(settings, store, until=1) == 1
    assert store.execute("SELECT unseal(principal_id) FROM events").fetchall() == [("[erased]",)]
    assert store.execute("SELECT keys_destroyed FROM erasures").fetchall() == [(1,)]


def test_an_erasure_in_one_tenant_leaves_the_persons_values_in_another_and_old_events_in_the_clear(
        settings: Settings, trail_factory: TrailFactory, store: duckdb.DuckDBPyConnection) -> None:
    for tenant in ("acme", "globex"):
        with trail_factory(tenant=tenant, agent_id=f"bot-{tenant}").action("tool.call", "search"):
            pass
    v1 = Codec(shipped_schemas()[:1])  # an event written before sealing shipped: its id in the clear
    producer = make_producer(settings, settings.bootstrap or "")
    producer.send(settings.topic("actions"), key=b"acme", value=v1.encode(sample_event(
        event_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), integrity={"stream_id": "old", "seq": 0})))
    producer.flush(10)
    producer.close()
    assert materialize(settings, store, until=3) == 3
    erasure = SubjectErased(subject_digest=KEYS.digest("human:alice"))
    publish_control(settings, settings.bootstrap or "", "acme", erasure, actor="human:dpo", via="cli",
                    reason="request 4711")
    assert materialize(settings, store, until=1, table="control_events") == 1
    assert sorted(store.execute("SELECT tenant, agent_id, unseal(principal_id) FROM events").fetchall()) == [
        ("acme", "a1", "alice"), ("acme", "bot-acme", "[erased]"), ("globex", "bot-globex", "alice")]
