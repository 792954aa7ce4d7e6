"""SDK -> Kafka -> DuckDB on a real broker: what an agent records is what an analyst reads."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import duckdb
import pytest

from agenttrail import EventTooLargeError, Refusal, SecretInPayloadError, Settings
from agenttrail.consumers.materializer import IDLE_CHECKPOINT_BYTES, Materializer
from agenttrail.kafka import make_consumer, make_producer, partitions_for
from tests.fixtures import FINGERPRINT_KEY, TrailFactory, materialize, stored_count


def test_nested_actions_link_parent_trace_and_exact_cost(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory()
    with trail.action("agent.run", "answer-ticket") as root:
        with trail.action("llm.call", "draft", attributes={"ticket": "T-1"}) as llm:
            llm.set_cost("0.004200000", "USD", input_tokens=1200, output_tokens=300)
        with trail.action("tool.call", "search", resource=("index", "kb"), resource_region="us-east-1"):
            pass
    assert trail.flush(10)
    assert materialize(settings, store, until=3) == 3
    rows = {r[0]: r for r in store.execute(
        "SELECT action_type, parent_event_id, trace_id, cost_amount, input_tokens, resource_region, "
        "attributes['ticket'], stream_seq FROM events").fetchall()}
    assert rows["llm.call"][1] == rows["tool.call"][1] == root.event_id
    assert rows["agent.run"][1] is None
    assert len({r[2] for r in rows.values()}) == 1, "one trace for the whole chain"
    assert rows["llm.call"][3] == Decimal("0.0042") and rows["llm.call"][4] == 1200
    assert rows["tool.call"][5] == "us-east-1"
    assert rows["llm.call"][6] == "T-1"
    assert sorted(r[7] for r in rows.values()) == [0, 1, 2], "one contiguous hash-chained stream"


def test_failures_record_outcome_and_error_and_reraise(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory()
    with pytest.raises(TimeoutError), trail.action("tool.call", "flaky"):
        raise TimeoutError("upstream took too long; key sk-proj-abcdefghijklmnopqrstuvwx leaked here")
    trail.flush(10)
    materialize(settings, store, until=1)
    outcome, code, message = store.execute("SELECT outcome, error_code, error_message FROM events").fetchone()  # type: ignore[misc]
    assert (outcome, code) == ("failure", "TimeoutError")
    assert "sk-proj" not in message and "[REDACTED]" in message


def test_fail_closed_actions_record_started_then_completed(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory()
    with trail.action("subscription.activate", "pro-plan") as act:
        act.set_cost("20.00", "EUR")
    trail.flush(10)
    materialize(settings, store, until=2)
    phases = store.execute(
        "SELECT phase, outcome, cost_amount, attributes['started_event_id'] FROM events ORDER BY stream_seq"
    ).fetchall()
    started_id = store.execute("SELECT event_id FROM events WHERE phase = 'started'").fetchone()[0]  # type: ignore[index]
    assert [(p[0], p[1]) for p in phases] == [("started", "pending"), ("completed", "success")]
    assert phases[1][2] == Decimal("20") and phases[1][3] == started_id


def test_decorator_records_sync_and_async_functions(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory()

    @trail.traced("tool.call")
    def lookup(x: int) -> int:
        return x * 2

    @trail.traced("llm.call", name="summarise")
    async def summarise() -> str:
        return "ok"

    assert lookup(21) == 42
    assert asyncio.run(summarise()) == "ok"
    trail.flush(10)
    materialize(settings, store, until=2)
    names = sorted(r[0] for r in store.execute("SELECT action_name FROM events").fetchall())
    assert names == ["summarise", "test_decorator_records_sync_and_async_functions.<locals>.lookup"]


def test_delegated_sub_agent_carries_the_actor_chain(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    planner = trail_factory(agent_id="planner")
    with planner.action("agent.run", "plan"):
        worker = planner.delegate("worker", "2.0")
        with worker.action("tool.call", "fetch"):
            pass
    planner.flush(10)
    materialize(settings, store, until=2)
    chain, principal = store.execute(
        "SELECT actor_chain, unseal(principal_id) FROM events WHERE agent_id = 'worker'").fetchone()  # type: ignore[misc]
    assert [a["id"] for a in chain] == ["worker", "planner"] and principal == "alice"


def test_an_injected_clock_stamps_every_event_of_the_trail_its_agents_and_sub_agents(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    ticks = iter(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=s) for s in range(100))
    planner = trail_factory(agent_id="planner", clock=lambda: next(ticks))
    other = planner.for_agent(tenant="acme", agent_id="other", agent_version="1", region="us-east-1",
                              principal="human:bob")
    worker = planner.delegate("worker", "2.0")
    with planner.action("subscription.activate", "pro-plan") as act:  # started + completed
        act.set_cost("20.00", "EUR")
    with other.action("tool.call", "fetch"), worker.action("llm.call", "draft"):
        pass
    planner.flush(10)
    materialize(settings, store, until=4)
    stamps = store.execute("SELECT agent_id, phase, year(occurred_at), duration_us FROM events "
                           "ORDER BY occurred_at").fetchall()
    assert all(s[2] == 2024 for s in stamps), "no event was stamped with the wall clock"
    assert [(s[0], s[1]) for s in stamps] == [("planner", "started"), ("planner", "completed"),
                                              ("worker", "completed"), ("other", "completed")]
    assert stamps[0][3] is None and all(s[3] >= 0 for s in stamps[1:]), "durations stay measured"


def test_raw_secrets_are_refused_by_the_sdk_and_tokens_are_fingerprinted(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory()
    raw = "ghp_" + "A" * 36
    with pytest.raises(SecretInPayloadError), trail.action("tool.call", "x", attributes={"auth": f"Bearer {raw}"}):
        pass
    with trail.action("token.use", "call-github") as act:
        fingerprint = act.use_token(raw, issuer="github", scopes=["repo"])
    trail.flush(10)
    materialize(settings, store, until=1)
    assert fingerprint.startswith("hmac-sha256:k1:")
    stored = store.execute("SELECT token_fingerprint, raw FROM events").fetchall()
    assert stored[0][0] == fingerprint
    assert all(raw.encode() not in r[1] for r in stored)


def test_oversized_event_reaches_the_callback_and_the_quarantine(
    trail_factory: TrailFactory, settings_factory, store: duckdb.DuckDBPyConnection
) -> None:
    small = settings_factory(max_event_bytes=4096, db=store_path(store))
    refusals: list[Refusal] = []
    trail = trail_factory(settings_=small, on_refused=refusals.append)
    with trail.action("tool.call", "big", attributes={"blob": "x" * 10_000}) as act:
        big_id = act.event_id
    trail.flush(10)
    materialize(small, store, until=1)
    assert [r.event_id for r in refusals] == [big_id]
    assert isinstance(refusals[0].error, EventTooLargeError)
    reason, event_id = store.execute("SELECT reason, event_id FROM quarantine").fetchone()  # type: ignore[misc]
    assert (reason, event_id) == ("refused_by_producer", big_id)
    assert store.execute("SELECT action_type FROM events").fetchall() == [("audit.refused",)]


def store_path(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchone()[0])  # type: ignore[index]


def test_garbage_and_invalid_events_are_quarantined_and_dead_lettered_without_stopping(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    from agenttrail.schemas import default_codec
    from tests.test_codec import sample_event

    bootstrap = settings.bootstrap or ""
    producer = make_producer(settings, bootstrap)
    topic = settings.topic("actions")
    negative = sample_event(event_id="neg", cost={"amount": Decimal("-5"), "currency": "USD",
                                                  "input_tokens": None, "output_tokens": None})
    secret = sample_event(event_id="sec", attributes={"note": "api_key=abcdefghijklmnop1234"})
    for value in (b"\x00garbage", b"\xc3\x01" + b"\x01" * 8 + b"body", default_codec().encode(negative),
                  default_codec().encode(secret), default_codec().encode(sample_event(tenant=" "))):
        producer.send(topic, key=b"acme", value=value)
    producer.flush(10)
    producer.close()
    trail = trail_factory()
    with trail.action("tool.call", "after-the-garbage"):
        pass
    trail.flush(10)
    materialize(settings, store, until=1)
    reasons = store.execute("SELECT reason, redacted, raw IS NULL FROM quarantine ORDER BY quarantine_id").fetchall()
    assert [r[0] for r in reasons] == ["undecodable", "unknown_schema", "invalid", "secret", "invalid"]
    assert reasons[3][1:] == (True, True), "a record holding a secret is kept redacted, bytes dropped"
    assert store.execute("SELECT action_name FROM events").fetchall() == [("after-the-garbage",)]

    dead = make_consumer(settings, bootstrap)
    dead.assign(partitions_for(dead, settings.topic("deadletter")))
    letters = []
    for _ in range(50):
        letters += [r for part in dead.poll(timeout_ms=200).values() for r in part]
        if len(letters) >= 5:
            break
    dead.close()
    headers = [dict(r.headers) for r in letters]
    assert sorted(h["reason"].decode() for h in headers) == sorted(r[0] for r in reasons)
    assert all(b"api_key" not in r.value for r in letters), "secrets never reach the dead-letter topic"


def test_amounts_that_would_overflow_the_sums_are_quarantined_and_the_pipeline_goes_on(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory()
    for _ in range(2):  # two of them would overflow a DECIMAL(38,9) sum and fail the batch for every tenant
        with trail.action("llm.call", "huge") as act:
            act.set_cost("60000000000000000000000000000", "USD")
    with trail.action("llm.call", "fine") as act:
        act.set_cost("0.01", "USD")
    assert trail.flush(10)
    assert materialize(settings, store, until=1) == 1
    assert materialize(settings, store, until=2, table="quarantine") == 2
    details = [r[0] for r in store.execute("SELECT detail FROM quarantine").fetchall()]
    assert all("beyond 1E+15" in d for d in details), details
    assert store.execute("SELECT sum(amount) FROM spend_daily").fetchall() == [(Decimal("0.01"),)]


def test_fingerprint_key_is_required_for_tokens_and_named(settings_factory) -> None:
    from agenttrail import ConfigError
    from agenttrail.schemas.fingerprints import Fingerprinter

    with pytest.raises(ConfigError, match="AGENTTRAIL_FINGERPRINT_KEY"):
        Fingerprinter(None, "k1")
    assert Fingerprinter(settings_factory().fingerprint_key, "k1").fingerprint("t").startswith("hmac-sha256:k1:")
    assert FINGERPRINT_KEY not in repr(settings_factory())


def test_fail_closed_action_whose_start_is_refused_does_not_run(
    trail_factory: TrailFactory, settings_factory, store: duckdb.DuckDBPyConnection
) -> None:
    small = settings_factory(max_event_bytes=4096, db=store_path(store))
    trail = trail_factory(settings_=small)
    ran = False
    with pytest.raises(EventTooLargeError), trail.action("domain.register", "x" * 10_000):
        ran = True
    trail.flush(10)
    materialize(small, store, until=1)
    assert not ran
    assert store.execute("SELECT action_type FROM events").fetchall() == [("audit.refused",)]


def test_event_from_a_plain_kafka_python_and_fastavro_script_is_stored(
    settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    """A producer in any language needs only the .avsc file and the single-object header."""
    import io
    import json
    from importlib import resources

    import fastavro
    from kafka import KafkaProducer

    from tests.test_codec import sample_event

    schema = fastavro.parse_schema(json.loads(
        resources.files("agenttrail.schemas").joinpath("agent_action.v1.avsc").read_text()))
    canonical = fastavro.schema.to_parsing_canonical_form(schema)
    body = io.BytesIO()
    body.write(b"\xc3\x01" + bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO")))
    fastavro.schemaless_writer(body, schema, sample_event(event_id="from-a-plain-script"))
    plain = KafkaProducer(bootstrap_servers=settings.bootstrap)
    plain.send(settings.topic("actions"), key=b"acme", value=body.getvalue()).get(timeout=10)
    plain.close()
    assert materialize(settings, store, until=1) == 1
    assert store.execute("SELECT event_id, cost_amount FROM events").fetchall() == [
        ("from-a-plain-script", Decimal("0.0021"))]


def test_an_idle_materializer_leaves_little_wal_to_checkpoint(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    """So DuckDB's own checkpoint, which stops every writer, rarely falls inside a batch's commit."""
    trail, events = trail_factory(), 6000
    for i in range(events):
        with trail.action("llm.call", f"draft-{i}") as act:
            act.set_cost("0.0042", "USD")
    assert trail.flush(30)
    wal = settings.db.with_name(settings.db.name + ".wal")
    materializer = Materializer(settings, settings.bootstrap or "", store)
    largest, idle, deadline = 0, False, time.monotonic() + 120
    try:
        while not idle and time.monotonic() < deadline:
            idle = materializer.step() is None and stored_count(store) == events
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)
    finally:
        materializer.close()
    assert largest >= IDLE_CHECKPOINT_BYTES, "the batches' commits filled the WAL"
    assert not wal.exists() or wal.stat().st_size < IDLE_CHECKPOINT_BYTES, "an idle step checkpointed it"
