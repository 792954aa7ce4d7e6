"""Properties over generated inputs (hypothesis): what must hold for every event, byte string and history.

Any event the schema admits comes back from the codec unchanged; any bytes at all,
however mangled, come out of the decode stage as exactly one stored row or one
quarantine row each, never an exception that would stop the consumer; and any
history, materialized live in any batches, leaves projections that a rebuild from
the stored events reproduces exactly.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenttrail.config import Settings, load_settings
from agenttrail.consumers.decoding import RawRecords, decode_records
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import check_rebuild
from agenttrail.consumers.store import open_store
from agenttrail.kafka import ensure_topics, make_producer
from agenttrail.schemas.codec import control_codec, default_codec
from agenttrail.schemas.control import (
    AgentReinstated,
    AgentSuspended,
    BudgetSet,
    ControlPayload,
    PolicySetLoaded,
    TenantRegionsSet,
    TokenRevoked,
    envelope,
)
from tests.figures import Figure
from tests.fixtures import FINGERPRINT_KEY, SCALE, BrokerHandle
from tests.test_codec import sample_event

NOW = datetime(2026, 11, 1, 12, 1, tzinfo=UTC)
TEXT = st.text(max_size=40)  # any unicode, controls and surrogate-free astral planes included
OPTIONAL_TEXT = st.none() | TEXT
# DECIMAL(38, 9) on the wire and in the store: up to 29 digits before the point, 9 after.
MONEY = st.decimals(min_value=Decimal("-1e20"), max_value=Decimal("1e20"), places=9, allow_nan=False,
                    allow_infinity=False)
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
MOMENT = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
SEALED = st.none() | st.fixed_dictionaries({"key_id": TEXT, "nonce": st.binary(max_size=16),
                                            "ciphertext": st.binary(max_size=64)})
KIND = st.sampled_from(["human", "agent", "service"])


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """An event the Avro schema admits, every field drawn; semantic rules (checked later, at intake) are not."""
    resource = draw(st.none() | st.fixed_dictionaries({"kind": TEXT, "id": TEXT, "region": OPTIONAL_TEXT}))
    return sample_event(
        event_id=draw(TEXT), occurred_at=draw(MOMENT), tenant=draw(TEXT),
        agent={"id": draw(TEXT), "version": draw(TEXT), "model": draw(OPTIONAL_TEXT),
               "runtime": draw(OPTIONAL_TEXT), "region": draw(TEXT)},
        principal={"kind": draw(KIND), "id": draw(TEXT), "sealed": draw(SEALED)},
        actor_chain=draw(st.lists(st.fixed_dictionaries({"kind": KIND, "id": TEXT, "sealed": SEALED}), max_size=4)),
        session_id=draw(OPTIONAL_TEXT), trace_id=draw(TEXT), span_id=draw(TEXT),
        parent_span_id=draw(OPTIONAL_TEXT), parent_event_id=draw(OPTIONAL_TEXT),
        action={"type": draw(TEXT), "name": draw(TEXT), "phase": draw(st.sampled_from(["started", "completed"])),
                "resource": resource},
        outcome=draw(st.sampled_from(["success", "failure", "denied"])),
        error=draw(st.none() | st.fixed_dictionaries({"code": TEXT, "message": TEXT})),
        duration_us=draw(st.none() | INT64),
        credential=draw(st.none() | st.fixed_dictionaries({
            "token_id": OPTIONAL_TEXT, "fingerprint": TEXT, "issuer": OPTIONAL_TEXT,
            "scopes": st.lists(TEXT, max_size=3), "parent_fingerprint": OPTIONAL_TEXT})),
        cost=draw(st.none() | st.fixed_dictionaries({"amount": MONEY, "currency": TEXT,
                                                     "input_tokens": st.none() | INT64,
                                                     "output_tokens": st.none() | INT64})),
        data_region=draw(OPTIONAL_TEXT), source_address=draw(OPTIONAL_TEXT), source_address_sealed=draw(SEALED),
        attributes=draw(st.dictionaries(TEXT, TEXT, max_size=5)),
        integrity={"stream_id": draw(TEXT), "seq": draw(INT64), "prev_hash": draw(OPTIONAL_TEXT)},
    )


@given(events())
@settings(max_examples=300, deadline=None)
def test_any_event_the_schema_admits_round_trips_through_the_codec_unchanged(event: dict[str, Any]) -> None:
    codec = default_codec()
    assert codec.decode(codec.encode(event)) == event


@st.composite
def mangled(draw: st.DrawFn) -> bytes | None:
    """Arbitrary bytes, a tombstone, or a real encoding cut short, padded or with one byte changed."""
    kind = draw(st.sampled_from(["random", "none", "truncated", "padded", "flipped"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "none":
        return None
    data = default_codec().encode(draw(events()))
    if kind == "truncated":
        return data[:draw(st.integers(0, len(data) - 1))]
    if kind == "padded":
        return data + draw(st.binary(min_size=1, max_size=8))
    at = draw(st.integers(0, len(data) - 1))
    return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]


@given(st.lists(mangled(), min_size=1, max_size=12))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_bytes_become_one_stored_row_or_one_quarantine_row_each(values: list[bytes | None]) -> None:
    records = RawRecords(NOW, ["agenttrail.actions"] * len(values), [0] * len(values), list(range(len(values))),
                         values)
    decoded = decode_records(records, default_codec(), timedelta(minutes=5))
    quarantined = {row["kafka_offset"] for row in decoded.quarantine}
    stored = decoded.events.column("kafka_offset").to_pylist()
    assert set(stored) | quarantined | _resent(decoded, values) == set(range(len(values))), "none vanishes"
    assert len(stored) == len(set(stored)), "none is stored twice"


def _resent(decoded: Any, values: list[bytes | None]) -> set[int]:
    """Offsets of records skipped as identical resends of a record stored from this batch."""
    stored = {values[o] for o in decoded.events.column("kafka_offset").to_pylist()}
    kept = set(decoded.events.column("kafka_offset").to_pylist())
    return {i for i, v in enumerate(values) if v in stored and i not in kept}


# -- rebuild equals live ---------------------------------------------------------------------------

TENANTS = {"acme": ("planner", "worker"), "globex": ("buyer",)}
REGIONS = ("eu-west-1", "us-east-1")
CURRENCIES = ("USD", "EUR", "JPY")
ACTIONS = ("llm.call", "tool.call", "agent.run", "token.issue", "token.use", "subscription.activate",
           "payment.refund")
POLICIES = (resources.files("agenttrail").joinpath("policies", "example.yaml").read_text("utf-8"))


@dataclass
class History:
    """Encoded records in the order they are produced, split into rounds each materialized before the next."""

    rounds: list[list[tuple[str, bytes, bytes]]]  # (topic name: "actions" or "control", key, value)
    control: int = 0


@st.composite
def histories(draw: st.DrawFn) -> History:
    """Several tenants and agents: chains whose parents come later, in another tenant or never; costs in
    several currencies, refunds; token issues with parents and uses from two regions; failures; occurred_at
    out of order over two days; and control events between them: budgets, region rules, revocations,
    suspensions, a policy set."""
    size = draw(st.integers(4, 40))
    ids = [str(uuid.uuid4()) for _ in range(size)]
    base = datetime.now(UTC) - timedelta(days=3)
    codec, chains = default_codec(), dict[str, tuple[int, str | None]]()
    tokens: dict[str, list[str]] = {tenant: [] for tenant in TENANTS}
    records, control = [], 0
    governing = draw(st.integers(0, 3))  # control events first, so spend meets budgets and actions meet rules
    for n, event_id in enumerate(ids):
        tenant = draw(st.sampled_from(sorted(TENANTS)))
        at = base + timedelta(minutes=draw(st.integers(0, 2 * 24 * 60)))
        if n < governing or draw(st.integers(0, 7)) == 0:
            payload = draw(_control_payloads(tenant, tokens[tenant]))
            event = envelope(tenant, payload, actor="human:carol", via="test", reason=None, event_id=event_id,
                             occurred_at=at)
            records.append(("control", tenant.encode(), control_codec().encode(event.to_avro())))
            control += 1
            continue
        agent, kind = draw(st.sampled_from(TENANTS[tenant])), draw(st.sampled_from(ACTIONS))
        fingerprint = _fingerprint(n)
        parent_token = draw(st.none() | st.sampled_from(tokens[tenant])) if tokens[tenant] else None
        if kind == "token.issue":
            tokens[tenant].append(fingerprint)
        elif kind == "token.use" and tokens[tenant]:
            fingerprint = draw(st.sampled_from(tokens[tenant]))
        amount = draw(st.decimals(min_value=0, max_value=40, places=2))
        stream = f"{tenant}/{agent}"
        seq, prev = chains.get(stream, (0, None))
        event = sample_event(
            event_id=event_id, occurred_at=at, tenant=tenant,
            agent={"id": agent, "version": "1", "model": "m", "runtime": None,
                   "region": draw(st.sampled_from(REGIONS))},
            parent_event_id=draw(st.none() | st.sampled_from(ids)),
            action={"type": kind, "name": kind, "phase": "completed",
                    "resource": {"kind": "api", "id": "x", "region": draw(st.sampled_from(REGIONS))}},
            outcome=draw(st.sampled_from(["success", "success", "failure", "denied"])),
            credential={"token_id": None, "fingerprint": fingerprint, "issuer": "idp", "scopes": [],
                        "parent_fingerprint": parent_token} if kind.startswith("token.") else None,
            cost={"amount": -amount if kind.endswith("refund") else amount,
                  "currency": draw(st.sampled_from(("USD", *CURRENCIES))), "input_tokens": 10, "output_tokens": 5}
            if kind not in ("agent.run", "token.issue", "token.use") else None,
            source_address=draw(st.sampled_from(["192.0.2.1", "198.51.100.7"])),
            integrity={"stream_id": stream, "seq": seq, "prev_hash": prev})
        value = codec.encode(event)
        chains[stream] = (seq + 1, hashlib.sha256(value).hexdigest())
        records.append(("actions", tenant.encode(), value))
    cut = draw(st.integers(0, len(records)))
    return History([records[:cut], records[cut:]], control)


@st.composite
def _control_payloads(draw: st.DrawFn, tenant: str, tokens: list[str]) -> ControlPayload:
    agent = draw(st.sampled_from(TENANTS[tenant]))
    choices: list[ControlPayload] = [
        BudgetSet(scope=draw(st.sampled_from(["agent:*", f"agent:{agent}", f"tenant:{tenant}"])),
                  limit=draw(st.sampled_from([Decimal("0.5"), Decimal("20"), Decimal("60")])),
                  currency=draw(st.sampled_from(("USD", *CURRENCIES))), period=draw(st.sampled_from(["day", "total"])),
                  on_exceed=draw(st.sampled_from(["alert", "suspend"]))),
        TenantRegionsSet(regions=["eu-west-1"]),
        AgentSuspended(agent_id=agent),
        AgentReinstated(agent_id=agent),
        PolicySetLoaded(name="example", sha256=hashlib.sha256(POLICIES.encode()).hexdigest(), text=POLICIES),
    ]
    if tokens:
        choices.append(TokenRevoked(fingerprint=draw(st.sampled_from(tokens)), tree=draw(st.booleans())))
    return draw(st.sampled_from(choices))


def _fingerprint(n: int) -> str:
    return "hmac-sha256:k1:" + hashlib.sha256(str(n).encode()).hexdigest()


@pytest.mark.slow
def test_rebuild_from_stored_events_always_equals_the_live_projections(broker: BrokerHandle, figure: Figure) -> None:
    """Histories materialized live in random batch sizes, in two rounds, through the real broker and
    materializer; then ``check_rebuild`` replays the stored events in other batch sizes: no difference."""
    seen = {"examples": 0, "events": 0, "control": 0, "batches": 0}

    @given(histories(), st.integers(1, 40), st.sampled_from([1, 7, 5000]))
    @settings(max_examples=int(25 * SCALE), deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def check(history: History, batch_size: int, replay_size: int) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            live = load_settings(bootstrap=broker.bootstrap, db=Path(tmp) / "live.duckdb", decode_worker=False,
                                 topic_prefix=f"p{uuid.uuid4().hex[:12]}", fingerprint_key=FINGERPRINT_KEY,
                                 batch_max_records=batch_size, checkpoint_events=7)
            ensure_topics(live, broker.bootstrap)
            con = open_store(live.db)
            materializer = Materializer(live, broker.bootstrap, con)
            try:
                produced = 0
                for records in history.rounds:
                    _produce(live, records)
                    produced += len(records)
                    seen["batches"] += _materialize_all(materializer, con, produced)
                [(quarantined,)] = con.execute("SELECT count(*) FROM quarantine").fetchall()
                assert quarantined == 0, con.execute("SELECT reason, detail FROM quarantine").fetchall()
                differences = check_rebuild(con, default_projections(live), batch_size=replay_size)
            finally:
                materializer.close()
                con.close()
        assert differences == []
        seen["examples"] += 1
        seen["events"] += produced - history.control
        seen["control"] += history.control

    check()
    figure(f"{seen['examples']} generated histories ({seen['events']:,} events, {seen['control']} control events: "
           f"chains, out-of-order times, currencies, refunds, token lineages, failures, budgets, region rules, "
           f"revocations, suspensions, a policy set) materialized in {seen['batches']:,} batches of random size: "
           f"rebuild equal to live in every one")


def _produce(settings: Settings, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = make_producer(settings, settings.bootstrap or "")
    try:
        for topic, key, value in records:
            producer.send(settings.topic(topic), key=key, value=value)
        producer.flush(30)
    finally:
        producer.close()


def _materialize_all(materializer: Materializer, con: duckdb.DuckDBPyConnection, expected: int) -> int:
    """Step until ``expected`` records are stored (events and control events); returns the batches it took."""
    batches, deadline = 0, time.monotonic() + 60
    while time.monotonic() < deadline:
        [(stored,)] = con.execute("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM control_events) "
                                  "+ (SELECT count(*) FROM quarantine)").fetchall()
        if stored >= expected:
            return batches
        batches += materializer.step() is not None
    raise AssertionError(f"only {stored} of {expected} records were materialized")
