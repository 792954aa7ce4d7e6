"""The wire contract: Avro single-object encoding, exact bytes, and backward-compatible evolution."""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import fastavro
import pytest

from agenttrail import DecodeError, InvalidEventError, UnknownSchemaError
from agenttrail.schemas import Codec, default_codec, schema_fingerprint, shipped_schemas


def sample_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "01931c1e-0000-7000-8000-000000000001",
        "occurred_at": datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        "tenant": "acme",
        "agent": {"id": "a1", "version": "1.0", "model": None, "runtime": None, "region": "eu-west-1"},
        "principal": {"kind": "human", "id": "alice"},
        "actor_chain": [{"kind": "agent", "id": "a1"}],
        "session_id": None,
        "trace_id": "0" * 31 + "1",
        "span_id": "0" * 15 + "1",
        "parent_span_id": None,
        "parent_event_id": None,
        "action": {"type": "tool.call", "name": "search", "phase": "completed", "resource": None},
        "outcome": "success",
        "error": None,
        "duration_us": 1200,
        "credential": None,
        "cost": {"amount": Decimal("0.002100000"), "currency": "USD", "input_tokens": 10, "output_tokens": 5},
        "data_region": None,
        "source_address": None,
        "attributes": {},
        "integrity": {"stream_id": "a1/1", "seq": 0, "prev_hash": None},
    }
    event.update(changes)
    return event


def test_encoding_starts_with_c301_and_the_crc64_fingerprint_of_the_schema() -> None:
    data = default_codec().encode(sample_event())
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == schema_fingerprint(shipped_schemas()[-1])
    assert data[2:10].hex() == "2fe643a185394c11"  # pinned: changing the schema must be deliberate


# The sample event as the v1 contract wrote it: bytes an earlier release stored and archived.
V1_SAMPLE = bytes.fromhex(
    "c301f18e350b2cb4532e4830313933316331652d303030302d373030302d383030302d303030303030303030303031"
    "80c0efccb8cdaf060861636d6504613106312e3000001265752d776573742d31000a616c6963650202046131000040"
    "3030303030303030303030303030303030303030303030303030303030303031203030303030303030303030303030"
    "3031000012746f6f6c2e63616c6c0c7365617263680000000002e012000206200b20065553440214020a0000000861"
    "312f310000"
)


def test_exact_bytes_of_a_sample_event_are_stable() -> None:
    data = default_codec().encode(sample_event())
    assert data.hex() == (
        "c3012fe643a185394c114830313933316331652d303030302d373030302d383030302d30303030303030303030303180"
        "c0efccb8cdaf060861636d6504613106312e3000001265752d776573742d31000a616c69636500020204613100000040"
        "303030303030303030303030303030303030303030303030303030303030303120303030303030303030303030303030"
        "31000012746f6f6c2e63616c6c0c7365617263680000000002e012000206200b20065553440214020a00000000086131"
        "2f310000"
    )


def test_stored_v1_bytes_still_decode_into_the_current_shape_with_nothing_sealed() -> None:
    decoded = default_codec().decode(V1_SAMPLE)
    assert decoded["principal"] == {"kind": "human", "id": "alice", "sealed": None}
    assert decoded["actor_chain"] == [{"kind": "agent", "id": "a1", "sealed": None}]
    assert decoded["source_address_sealed"] is None
    assert {k: v for k, v in decoded.items() if k not in ("principal", "actor_chain", "source_address_sealed")} == {
        k: v for k, v in sample_event().items() if k not in ("principal", "actor_chain")}


def test_a_sealed_principal_and_address_round_trip_as_bytes_that_never_hold_the_plaintext() -> None:
    sealed = {"key_id": "ab" * 12, "nonce": b"\x01" * 12, "ciphertext": b"\x02" * 21}
    ref = "sealed:" + "ab" * 12 + ":" + "cd" * 16
    data = default_codec().encode(sample_event(
        principal={"kind": "human", "id": ref, "sealed": sealed}, source_address=ref,
        source_address_sealed=sealed))
    decoded = default_codec().decode(data)
    assert decoded["principal"] == {"kind": "human", "id": ref, "sealed": sealed}
    assert decoded["source_address_sealed"] == sealed and b"alice" not in data


def test_round_trip_keeps_money_exact() -> None:
    codec = default_codec()
    decoded = codec.decode(codec.encode(sample_event()))
    assert decoded["cost"]["amount"] == Decimal("0.0021")
    assert decoded["occurred_at"] == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_event_written_by_plain_fastavro_knowing_only_the_avsc_decodes() -> None:
    schema = json.loads(resources.files("agenttrail.schemas").joinpath("agent_action.v1.avsc").read_text())
    parsed = fastavro.parse_schema(schema)
    canonical = fastavro.schema.to_parsing_canonical_form(parsed)
    header = b"\xc3\x01" + bytes.fromhex(fastavro.schema.fingerprint(canonical, "CRC-64-AVRO"))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, parsed, sample_event())
    assert default_codec().decode(header + body.getvalue())["tenant"] == "acme"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", DecodeError),
        (b"hello world, not avro", DecodeError),
        (b"\xc3\x01" + b"\x00" * 8 + b"\x02", UnknownSchemaError),
        (b"\xc3\x01\xf1\x8e", DecodeError),
    ],
    ids=["empty", "text", "unknown-fingerprint", "short-header"],
)
def test_bytes_that_are_not_events_raise(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        default_codec().decode(data)


def test_truncated_and_padded_bodies_raise() -> None:
    data = default_codec().encode(sample_event())
    with pytest.raises(DecodeError):
        default_codec().decode(data[:-7])
    with pytest.raises(DecodeError):
        default_codec().decode(data + b"\x00")


@pytest.mark.parametrize(
    "change",
    [{"tenant": None}, {"outcome": "exploded"}, {"cost": {"amount": 1.5, "currency": "USD"}},
     {"integrity": {"stream_id": "s"}}],
    ids=["null-tenant", "unknown-outcome", "float-money", "missing-seq"],
)
def test_records_that_do_not_fit_the_schema_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventError):
        default_codec().encode(sample_event(**change))


def next_schema() -> dict[str, Any]:
    """The newest shipped version plus one optional field, as the next schema version would add it."""
    schema = copy.deepcopy(shipped_schemas()[-1])
    schema["namespace"] = "dev.agenttrail.next"
    schema["fields"].append({"name": "cost_center", "type": ["null", "string"], "default": None})
    return schema


def test_the_next_reader_reads_every_shipped_version_with_the_new_field_defaulted() -> None:
    following = Codec([*shipped_schemas(), next_schema()])
    for data in (V1_SAMPLE, default_codec().encode(sample_event())):
        decoded = following.decode(data)
        assert decoded["cost_center"] is None
        assert decoded["tenant"] == "acme"


def test_next_version_events_carry_their_own_fingerprint_which_an_older_reader_names() -> None:
    following = Codec([*shipped_schemas(), next_schema()])
    data = following.encode(sample_event(cost_center="research"))
    assert data[2:10] == schema_fingerprint(next_schema()) != default_codec().fingerprint
    assert following.decode(data)["cost_center"] == "research"
    with pytest.raises(UnknownSchemaError):
        default_codec().decode(data)  # an old reader says exactly why it cannot read it


def test_control_events_have_their_own_pinned_fingerprint_and_round_trip() -> None:
    from agenttrail.schemas.codec import control_codec
    from agenttrail.schemas.control import TenantRegionsSet, envelope

    event = envelope("acme", TenantRegionsSet(regions=["eu-west-1"]), actor="human:carol", via="cli",
                     reason=None, event_id="01931c1e-0000-7000-8000-000000000001",
                     occurred_at=datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    data = control_codec().encode(event.to_avro())
    assert data[2:10].hex() == control_codec().fingerprint.hex() != default_codec().fingerprint.hex()
    assert data[2:10].hex() == "1ab2473019111ec0"  # pinned: changing the schema must be deliberate
    assert control_codec().decode(data)["payload"] == '{"regions":["eu-west-1"]}'
    with pytest.raises(UnknownSchemaError):
        default_codec().decode(data)  # an actions reader names the fingerprint instead of misreading it
