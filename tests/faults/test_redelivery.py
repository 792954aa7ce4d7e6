"""The same events delivered twice: a producer resending after a crash, and a topic range replayed on purpose.

Kafka's idempotent producer deduplicates only within one producer session; a restarted
process resends what its spool still holds, and an operator may replay a range of the topic
(a mirror re-run, a re-read from an earlier offset). Either way each event must be stored
once, counted once in every projection, and announced once: the copies are counted as
duplicates, and identical bytes are never mistaken for a conflict.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.broker import EmbeddedBroker
from agenttrail.config import Settings
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import check_rebuild
from agenttrail.consumers.store import open_store
from agenttrail.kafka import make_consumer, make_producer, partitions_for, send_and_wait
from agenttrail.producers.control import publish_control
from agenttrail.producers.trail import connect
from agenttrail.schemas.control import BudgetSet
from agenttrail.service import Pipeline
from tests.figures import Figure
from tests.fixtures import SettingsFactory, materialize, scaled, stored_count, wait_for


def test_a_producer_resending_its_spool_after_a_crash_is_stored_once(
    kafka_client: str, pausable_broker: EmbeddedBroker, settings_factory: SettingsFactory, tmp_path: Path,
    figure: Figure,
) -> None:
    settings = settings_factory(bootstrap=pausable_broker.bootstrap, delivery_timeout_ms=1000)
    spool, crashed = tmp_path / "agent-spool", tmp_path / "spool-as-the-crash-left-it"
    trail = connect(tenant="acme", agent_id="durable-agent", agent_version="1", region="eu-west-1",
                    principal="human:alice", mode="durable", settings=settings, spool_dir=spool)
    count = scaled(300)
    pausable_broker.pause()
    try:
        for i in range(count):  # durable: each is on disk before the action returns
            with trail.action("tool.call", f"call-{i}"):
                pass
        wait_for(lambda: trail.emitter.degraded, "the sender to find the broker gone")
        # What a crash after the broker's ack but before the spool recorded the delivery leaves behind.
        shutil.copytree(spool, crashed, ignore=shutil.ignore_patterns("spool.lock"))
    finally:
        pausable_broker.resume()
    assert trail.flush(60)
    trail.close()

    restarted = connect(tenant="acme", agent_id="durable-agent", agent_version="1", region="eu-west-1",
                        principal="human:alice", mode="durable", settings=settings, spool_dir=crashed)
    assert restarted.flush(60), "the restarted process resent its spool"
    restarted.close()
    con = open_store(settings.db)
    duplicates = _materialize_copies(settings, con, count * 2)
    stored = stored_count(con)
    breaks = stored_count(con, "stream_breaks")
    quarantined = stored_count(con, "quarantine")
    con.close()
    figure(f"{count:,} produced while the broker was paused, all {count:,} resent by the restarted producer: "
           f"{stored:,} stored / {duplicates:,} copies dropped (its own retries included) / "
           f"{quarantined} quarantined / {breaks} stream breaks")
    assert (stored, quarantined, breaks) == (count, 0, 0)
    assert duplicates >= count, "every copy the restarted producer sent was recognised"


@pytest.mark.slow
def test_a_replayed_topic_range_and_a_rewound_consumer_store_each_event_once(
    kafka_client: str, settings: Settings, store: duckdb.DuckDBPyConnection, figure: Figure
) -> None:
    bootstrap = settings.bootstrap or ""
    publish_control(settings, bootstrap, "acme", BudgetSet(scope="tenant:acme", limit="1.00", currency="USD",
                                                           period="total"), actor="human:carol", via="test")
    assert materialize(settings, store, until=1, table="control_events") == 1  # in force before the spend
    count = scaled(2000)
    for tenant in ("acme", "globex"):
        trail = connect(tenant=tenant, agent_id=f"worker-{tenant}", agent_version="1", region="eu-west-1",
                        principal="human:alice", settings=settings)
        for i in range(count // 2):
            with trail.action("agent.run", f"task-{i}"), trail.action("llm.call", "draft") as act:
                act.set_cost("0.001000000", "USD", input_tokens=10, output_tokens=5)
        trail.close()
    events = 2 * (count // 2) * 2
    assert materialize(settings, store, until=events) == events
    before = _observable(store)
    assert before["alerts"] > 0, "the budget's thresholds fired once already"

    replayed = _produce_again(settings, bootstrap, first=10, last=10 + count // 4)
    store.execute("UPDATE consumer_offsets SET next_offset = 0")  # an operator re-reads everything
    duplicates = _materialize_copies(settings, store, events + 1 + replayed)
    after = _observable(store)
    differences = check_rebuild(store, default_projections(settings), batch_size=997)
    figure(f"{events:,} produced, {replayed:,} of them produced again from a range of the topic, then every "
           f"record re-read from offset 0: {after['events']:,} stored / {duplicates:,} copies dropped / "
           f"spend {after['spend']} USD and {after['alerts']} alerts as before; rebuild --check "
           f"{differences or 'equal'}")
    assert duplicates == events + 1 + replayed, "every copy counted, the control event's too"
    assert after == before, "nothing stored, spent, alerted or published twice"
    assert not differences


def _produce_again(settings: Settings, bootstrap: str, *, first: int, last: int) -> int:
    """Copy the records at offsets [first, last) of every actions partition onto the topic's end, byte for byte."""
    consumer = make_consumer(settings, bootstrap)
    parts = partitions_for(consumer, settings.topic("actions"))
    consumer.assign(parts)
    for part in parts:
        consumer.seek(part, first)
    copies: list[tuple[bytes | None, bytes | None]] = []
    for _ in range(100):
        for records in consumer.poll(timeout_ms=200).values():
            copies += [(r.key, r.value) for r in records if first <= r.offset < last]
        if all(consumer.position(part) >= last for part in parts):
            break
    consumer.close()
    producer = make_producer(settings, bootstrap)
    assert all(send_and_wait(producer, settings.topic("actions"), copies, 30))
    producer.close()
    return len(copies)


def _materialize_copies(settings: Settings, con: duckdb.DuckDBPyConnection, handled: int) -> int:
    """Run a materializer until it stored or dropped at least ``handled`` records and then a second
    passed without another; returns how many copies the store has dropped in all."""
    pipeline = Pipeline(settings, settings.bootstrap or "", con).start()
    try:
        assert pipeline.wait_until_stored(handled, 60), pipeline.stats
        seen = -1
        while seen != pipeline.stats.consumed:
            seen = pipeline.stats.consumed
            time.sleep(1.0)
    finally:
        pipeline.stop()
    [(dropped,)] = con.execute("SELECT coalesce(sum(value), 0) FROM ingest_counters WHERE name = 'duplicates'"
                               ).fetchall()
    return int(dropped)


def _observable(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """What a copy must not change: stored rows, exact spend, alerts raised, records queued for publishing."""
    [(events, control, spend, alerts, outbox, quarantined, chains)] = con.execute(
        "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM control_events), "
        "(SELECT sum(amount) FROM spend_daily), (SELECT count(*) FROM alerts), (SELECT count(*) FROM outbox), "
        "(SELECT count(*) FROM quarantine), (SELECT count(*) FROM chain_rollups)").fetchall()
    return {"events": events, "control": control, "spend": spend, "alerts": alerts, "outbox": outbox,
            "quarantined": quarantined, "chains": chains}
