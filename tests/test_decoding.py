"""The decode stage without Kafka: column-wise checks agree with ``check``, and the worker process fails loudly."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agenttrail._exceptions import DecodeWorkerError
from agenttrail.bench.events import encoded_events
from agenttrail.consumers.batch import event_table
from agenttrail.consumers.decoding import RawRecords, decode_records
from agenttrail.consumers.intake import check, decode, flatten, quarantine_row
from agenttrail.consumers.worker import DecodeWorker
from agenttrail.schemas.codec import default_codec
from agenttrail.schemas.fingerprints import (
    SECRET_CANDIDATES_RE2,
    SECRET_SHAPES,
    SHORTEST_SECRET,
    looks_like_secret,
)
from tests.test_codec import sample_event

SKEW = timedelta(minutes=5)
NOW = datetime(2026, 11, 1, 12, 1, tzinfo=UTC)
_COST = {"amount": Decimal("-1"), "currency": "USD", "input_tokens": None, "output_tokens": None}
_RESOURCE = {"kind": "api", "id": "x", "region": None}

# Every rule of ``check``, each broken once, and near misses that ``check`` accepts.
CASES: list[dict[str, Any]] = [
    {}, {"tenant": " "}, {"tenant": "\u2003"}, {"event_id": "\t"}, {"principal": {"kind": "human", "id": ""}},
    {"agent": {"id": "\x1c", "version": "1", "model": None, "runtime": None, "region": "r"}},
    {"action": {"type": "Tool.Call", "name": "n", "phase": "completed", "resource": None}},
    {"action": {"type": "tool.call\n", "name": "n", "phase": "completed", "resource": None}},
    {"action": {"type": "tool.call", "name": "Bearer abcdefghijklmnopqrstuvwx", "phase": "completed",
                "resource": None}},
    {"action": {"type": "tool.call", "name": "n", "phase": "completed",
                "resource": {**_RESOURCE, "id": "AKIAABCDEFGHIJKLMNOP"}}},
    {"action": {"type": "pay.refund", "name": "n", "phase": "completed", "resource": None}, "cost": _COST},
    {"trace_id": "A" * 32}, {"span_id": "0" * 15 + "1\n"}, {"occurred_at": NOW + SKEW + timedelta(microseconds=1)},
    {"occurred_at": NOW + SKEW}, {"cost": _COST}, {"cost": {**_COST, "amount": Decimal(1), "currency": "usd"}},
    {"cost": {**_COST, "amount": Decimal(1), "input_tokens": -1}}, {"duration_us": -1},
    {"credential": {"token_id": None, "fingerprint": "ghp_" + "a" * 36, "issuer": None, "scopes": [],
                    "parent_fingerprint": None}},
    {"credential": {"token_id": "xoxb-1234567890-abcdefghijklmnop", "fingerprint": "hmac-sha256:k1:" + "0" * 64,
                    "issuer": None, "scopes": [], "parent_fingerprint": None}},
    {"attributes": {"note": "token=abcdefghijklmnop1234"}}, {"attributes": {"sk-ant-abcdefghijklmnopqrstuvwx": "v"}},
    {"attributes": {"naïve": "ordinary", "ok": "x"}},
    {"error": {"code": "E", "message": "password: hunter2hunter2hunter"}},
]


def _records(values: list[bytes | None]) -> RawRecords:
    return RawRecords(NOW, ["t"] * len(values), [0] * len(values), list(range(len(values))), values)


def test_quarantine_rows_are_exactly_those_of_the_per_record_check() -> None:
    codec = default_codec()
    values: list[bytes | None] = [codec.encode(sample_event(**({"event_id": f"e{i}"} | case)))
                                  for i, case in enumerate(CASES)]
    first = values[0]
    assert first is not None
    values += [None, b"\x00garbage", first[:-3], first + b"\x00"]
    expected = []
    for i, value in enumerate(values):
        event, rejection = decode(codec, value)
        rejection = rejection or check(event or {}, NOW, SKEW)
        if rejection is not None:
            expected.append(quarantine_row(rejection, value, NOW, "t", 0, i))

    decoded = decode_records(_records(values), codec, SKEW)

    assert decoded.quarantine == expected
    assert len(expected) > len(CASES) // 2, "most cases are rejected"
    assert decoded.events.num_rows == len(values) - len(expected)
    assert decoded.events.column("store_seq").to_pylist() == list(range(decoded.events.num_rows))


def test_rows_equal_those_of_the_plain_per_record_path() -> None:
    """The batch path (column-wise checks, one Arrow conversion) stores what the per-record path would."""
    codec = default_codec()
    amounts = [Decimal("-999999999999999.999999999"), Decimal("0.000000001"), Decimal(0)]  # the largest refund accepted
    values: list[bytes | None] = [value for _, value in encoded_events(300, codec, lambda _: None)]
    values += [codec.encode(sample_event(event_id=f"c{i}", action={
        "type": "pay.refund", "name": "n", "phase": "completed", "resource": None}, cost={**_COST, "amount": a}))
        for i, a in enumerate(amounts)]
    now = datetime.now(UTC)
    rows = [flatten(codec.decode(v or b""), v or b"", i, now, "t", 0, i) for i, v in enumerate(values)]
    records = RawRecords(now, ["t"] * len(values), [0] * len(values), list(range(len(values))), values)
    assert decode_records(records, codec, SKEW).events.equals(event_table(rows))


def test_resends_within_a_batch_are_counted_and_conflicts_quarantined() -> None:
    codec = default_codec()
    first, changed = codec.encode(sample_event()), codec.encode(sample_event(tenant="globex"))
    decoded = decode_records(_records([first, first, changed]), codec, SKEW)
    assert (decoded.events.num_rows, decoded.duplicates) == (1, 1)
    assert [(q["reason"], q["kafka_offset"]) for q in decoded.quarantine] == [("conflicting_duplicate", 2)]


_ASCII = st.text(st.sampled_from("aAkK0=:_- \t\x0b\x1cBearsk-proj-ghp_token=\"'Basic/+."), max_size=60)


@given(st.lists(_ASCII, min_size=1, max_size=20), st.lists(st.text(max_size=40), max_size=10))
def test_the_re2_candidates_match_every_secret_python_finds(ascii_texts: list[str], texts: list[str]) -> None:
    """Equal on ASCII text; on any text, never missing what the Python expression finds."""
    candidates = pc.match_substring_regex(pa.array(ascii_texts + texts), SECRET_CANDIDATES_RE2).to_pylist()
    for text, candidate in zip(ascii_texts + texts, candidates, strict=True):
        if text.isascii():
            assert candidate == looks_like_secret(text), repr(text)
        elif looks_like_secret(text):
            assert candidate, repr(text)


def test_no_secret_shape_is_shorter_than_the_values_looks_like_secret_skips() -> None:
    """The shortcut for short values is exact: the regular expression engine's own minimum widths."""
    import re._parser  # the parser behind re.compile: the minimum width of each shape

    assert min(re._parser.parse(shape).getwidth()[0] for shape in SECRET_SHAPES) == SHORTEST_SECRET
    assert looks_like_secret("xoxb-0123456789") and not looks_like_secret("xoxb-012345678")


def _ready(worker: DecodeWorker) -> None:
    deadline = time.monotonic() + 60
    while not worker.ready:
        assert time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.05)


def test_the_worker_decodes_like_the_caller_and_fails_loudly_when_killed() -> None:
    codec = default_codec()
    records = _records([codec.encode(sample_event(event_id=f"e{i}")) for i in range(50)] + [b"junk"])
    worker = DecodeWorker(codec, SKEW)
    worker.start()
    try:
        _ready(worker)
        worker.submit(records)
        remote, local = worker.result(), decode_records(records, codec, SKEW)
        assert remote.events.equals(local.events) and remote.quarantine == local.quarantine

        assert worker._process is not None
        os.kill(worker._process.pid, signal.SIGKILL)
        worker._process.wait()
        with pytest.raises(DecodeWorkerError, match="decode worker"):
            worker.submit(records)
            worker.result()
    finally:
        worker.close()
