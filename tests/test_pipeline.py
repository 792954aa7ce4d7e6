"""SDK -> Kafka -> DuckDB on a real broker: what an agent records is what an analyst reads."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from agenttrail import AgentAction, EventTooLargeError, Refusal, SecretInPayloadError, Settings, Trail
from agenttrail.consumers.materializer import IDLE_CHECKPOINT_BYTES, Materializer
from agenttrail.kafka import make_consumer, make_producer, partitions_for
from agenttrail.producers.ids import new_event_id, new_span_id, new_trace_id
from agenttrail.schemas.codec import default_codec
from tests.figures import Figure
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
    with pytest.raises(SecretInPayloadError), trail.action("token.use", "x") as act:
        act.use_token(raw, token_id=raw)  # the token passed as its own id
    with trail.action("token.use", "call-github") as act:
        fingerprint = act.use_token(raw, issuer="github", scopes=["repo"])
    trail.flush(10)
    materialize(settings, store, until=2)  # the refused use_token failed its action, which is recorded
    assert fingerprint.startswith("hmac-sha256:k1:")
    stored = store.execute("SELECT token_fingerprint, raw FROM events ORDER BY stream_seq").fetchall()
    assert [r[0] for r in stored] == [None, fingerprint]
    assert all(raw.encode() not in r[1] for r in stored)


def test_an_event_of_exactly_max_event_bytes_is_stored_and_one_byte_more_is_refused(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection, figure: Figure
) -> None:
    """At the default limit, through the real broker: the boundary is exact, and the refusal is on the trail."""
    refusals: list[Refusal] = []
    trail = trail_factory(on_refused=refusals.append)
    limit = settings.max_event_bytes
    with trail.action("tool.call", "first"):  # seq 0: the events below carry a prev_hash, as they will when sent
        pass
    fitting, too_big = _event_of(trail, limit, seq=1), _event_of(trail, limit + 1, seq=2)
    trail.emit(fitting)
    trail.emit(too_big)  # refused: seq 2 goes to the audit.refused event that takes its place
    assert trail.flush(30)
    materialize(settings, store, until=3)
    rows = store.execute("SELECT event_id, action_type, octet_length(raw), attributes['blob'] = ? FROM events "
                         "ORDER BY stream_seq", [fitting.attributes["blob"]]).fetchall()
    quarantined = store.execute("SELECT reason, event_id, detail FROM quarantine").fetchall()
    figure(f"events of {limit:,} and {limit + 1:,} bytes against max_event_bytes={limit:,}: "
           f"{rows[1][2]:,} stored verbatim / {len(refusals)} refused ({type(refusals[0].error).__name__}) "
           f"and quarantined as {quarantined[0][0] if quarantined else None}")
    assert rows[1] == (fitting.event_id, "tool.call", limit, True), "exactly the limit is stored, byte for byte"
    assert [r[1] for r in rows] == ["tool.call", "tool.call", "audit.refused"]
    assert [r.event_id for r in refusals] == [too_big.event_id]
    assert isinstance(refusals[0].error, EventTooLargeError)
    assert f"{limit + 1} bytes, above max_event_bytes={limit}" in str(refusals[0].error)
    assert [(q[0], q[1]) for q in quarantined] == [("refused_by_producer", too_big.event_id)]


def _event_of(trail: Trail, size: int, *, seq: int) -> AgentAction:
    """An event whose encoding, sealed at ``seq`` of ``trail``'s stream, is exactly ``size`` bytes."""
    def encoded_size(padding: int) -> tuple[AgentAction, int]:
        event = AgentAction(
            event_id=new_event_id(), occurred_at=datetime.now(UTC), tenant=trail.tenant, agent=trail.agent,
            principal=trail.principal, trace_id=new_trace_id(), span_id=new_span_id(),
            action={"type": "tool.call", "name": "big"}, attributes={"blob": "x" * padding},
            integrity={"stream_id": trail.stream_id, "seq": seq, "prev_hash": "0" * 64})
        return event, len(default_codec().encode(event.to_avro()))

    _, first = encoded_size(size)
    event, exact = encoded_size(2 * size - first)
    assert exact == size, (exact, size)
    return event


def store_path(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT path FROM duckdb_databases() WHERE NOT internal").fetchone()[0])  # type: ignore[index]


def _hostile_records() -> list[tuple[str, bytes, str]]:
    """(what it is, the bytes sent, the quarantine reason or "stored"): every way bad input reaches the topic."""
    from tests.test_codec import sample_event

    def encoded(name: str, **changes: Any) -> bytes:
        return default_codec().encode(sample_event(event_id=f"hostile-{name}", **changes))

    def costing(amount: str, currency: str = "USD") -> dict[str, Any]:
        return {"amount": Decimal(amount), "currency": currency, "input_tokens": None, "output_tokens": None}

    def doing(action_type: str, name: str = "n", resource: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"type": action_type, "name": name, "phase": "completed", "resource": resource}

    whole = encoded("whole")
    return [
        ("garbage bytes", b"\x00garbage", "undecodable"),
        ("an unknown schema fingerprint", b"\xc3\x01" + b"\x01" * 8 + b"body", "unknown_schema"),
        ("truncated Avro", whole[:-7], "undecodable"),
        ("Avro with bytes after its end", whole + b"\x00\x01", "undecodable"),
        ("an empty tenant", encoded("tenant", tenant=" "), "invalid"),
        ("a negative cost outside a refund", encoded("negative", cost=costing("-5")), "invalid"),
        ("a negative cost on a refund", encoded("refund", action=doing("payment.refund"), cost=costing("-5")),
         "stored"),
        ("occurred_at a day ahead", encoded("future", occurred_at=datetime.now(UTC) + timedelta(days=1)), "invalid"),
        ("an unknown currency", encoded("currency", cost=costing("1", "QQQ")), "invalid"),
        ("a secret in an attribute value", encoded("secret-value", attributes={"note": SECRETS[0]}), "secret"),
        ("a secret as an attribute key", encoded("secret-key", attributes={SECRETS[1]: "v"}), "secret"),
        ("a secret in an action name", encoded("secret-name", action=doing("tool.call", SECRETS[2])), "secret"),
        ("a secret in a resource id", encoded("secret-resource", action=doing(
            "tool.call", resource={"kind": "api", "id": SECRETS[3], "region": None})), "secret"),
        ("a secret in an error message", encoded("secret-error", outcome="failure",
                                                 error={"code": "E", "message": SECRETS[4]}), "secret"),
        ("a raw token as the token id", encoded("secret-token-id", credential={
            "token_id": SECRETS[5], "fingerprint": "hmac-sha256:k1:" + "0" * 64, "issuer": None, "scopes": [],
            "parent_fingerprint": None}), "secret"),
    ]


SECRETS = ("api_key=abcdefghijklmnop1234", "sk-ant-abcdefghijklmnopqrstuvwx", "ghp_" + "B" * 36,
           "AKIAABCDEFGHIJKLMNOP", "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
           "xoxb-1234567890-abcdefghijklmnop")


def test_hostile_records_are_quarantined_with_their_reason_and_secrets_never_kept(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection,
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], figure: Figure
) -> None:
    """Forced onto the topic by a raw producer, past the SDK's own checks: each bad record becomes one
    quarantine row and one dead letter naming its reason, the pipeline goes on, and a record holding a
    secret keeps only the SHA-256 of its bytes: not in the store, not on the dead-letter topic, not in a log."""
    hostile = _hostile_records()
    bootstrap = settings.bootstrap or ""
    producer = make_producer(settings, bootstrap)
    for _, value, _ in hostile:
        producer.send(settings.topic("actions"), key=b"acme", value=value)
    producer.flush(10)
    producer.close()
    trail = trail_factory()
    with trail.action("tool.call", "after-the-garbage"):
        pass
    trail.flush(10)
    caplog.set_level(logging.INFO)  # what `agenttrail -v` shows
    caplog.set_level(logging.DEBUG, logger="agenttrail")
    materialize(settings, store, until=2)
    rows = store.execute("SELECT reason, redacted, raw, raw_sha256 FROM quarantine ORDER BY quarantine_id").fetchall()
    rejected = [(what, value, reason) for what, value, reason in hostile if reason != "stored"]
    assert [r[0] for r in rows] == [reason for _, _, reason in rejected], [what for what, _, _ in rejected]
    for (what, value, reason), (_, redacted, raw, raw_sha256) in zip(rejected, rows, strict=True):
        assert raw_sha256 == hashlib.sha256(value).hexdigest(), what
        assert (redacted, raw) == ((True, None) if reason == "secret" else (False, value)), what
    assert sorted(r[0] for r in store.execute("SELECT action_name FROM events").fetchall()) == [
        "after-the-garbage", "n"], "the refund is stored, the pipeline went on"

    letters = _dead_letters(settings, len(rejected))
    assert [dict(r.headers)["reason"].decode() for r in letters] == [r[0] for r in rows]
    for (_, value, reason), letter in zip(rejected, letters, strict=True):
        assert dict(letter.headers)["raw_sha256"].decode() == hashlib.sha256(value).hexdigest()
        assert letter.value == (b"" if reason == "secret" else value), "secrets never reach the dead-letter topic"
    logged = caplog.text + "".join(capfd.readouterr())
    found = [secret for secret in SECRETS if _stored_anywhere(store, secret) or secret in logged or any(
        secret.encode() in r.value or any(secret.encode() in v for _, v in r.headers) for r in letters)]
    figure(f"{len(hostile)} hostile records forced onto the topic (garbage, unknown schema, truncated and padded "
           f"Avro, impossible values, {len(SECRETS)} secrets) beside 1 good event: {stored_count(store)} stored "
           f"(the good one and a refund) / {len(rows)} quarantined with their reason / {len(letters)} dead-lettered / "
           f"{len(found)} secrets found in the store, the dead letters or the logs")
    assert not found


def _dead_letters(settings: Settings, expected: int) -> list[Any]:
    dead = make_consumer(settings, settings.bootstrap or "")
    dead.assign(partitions_for(dead, settings.topic("deadletter")))
    letters: list[Any] = []
    for _ in range(50):
        letters += [r for part in dead.poll(timeout_ms=200).values() for r in part]
        if len(letters) >= expected:
            break
    dead.close()
    return sorted(letters, key=lambda r: int(dict(r.headers)["source"].decode().rsplit("/", 1)[1]))


def _stored_anywhere(con: duckdb.DuckDBPyConnection, text: str) -> bool:
    """Whether any row of any table in the store holds ``text`` in any column (rows cast to text whole)."""
    tables = [name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    return any(con.execute(f'SELECT count(*) FROM "{table}" AS r WHERE r::VARCHAR LIKE ?',
                           [f"%{text}%"]).fetchall()[0][0] for table in tables)


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
