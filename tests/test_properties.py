"""Properties over generated inputs (hypothesis): what must hold for every event and every byte string.

Any event the schema admits comes back from the codec unchanged, and any bytes
at all, however mangled, come out of the decode stage as exactly one stored
row or one quarantine row each: never an exception that would stop the consumer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenttrail.consumers.decoding import RawRecords, decode_records
from agenttrail.schemas.codec import default_codec
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
