"""The streams projection: gaps and breaks of every emitter's hash chain, found in store order."""

from __future__ import annotations

import duckdb

from agenttrail.config import Settings
from tests.fixtures import materialize
from tests.integrity_helpers import encoded, hash_chain, publish


def _gaps(store: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return store.execute(
        "SELECT first_seq, last_seq, arrived, closed_at IS NOT NULL FROM stream_gaps ORDER BY first_seq"
    ).fetchall()


def test_an_untouched_stream_has_no_gaps_and_no_breaks(settings: Settings, store: duckdb.DuckDBPyConnection) -> None:
    publish(settings, hash_chain(20))
    assert materialize(settings, store, until=20) == 20
    assert _gaps(store) == []
    assert store.execute("SELECT count(*) FROM stream_breaks").fetchone() == (0,)
    assert store.execute("SELECT max_seq, events FROM stream_heads").fetchone() == (19, 20)


def test_missing_sequence_numbers_stay_an_open_gap(settings: Settings, store: duckdb.DuckDBPyConnection) -> None:
    chain = hash_chain(10)
    publish(settings, chain[:3] + chain[6:])  # seq 3..5 never reach the store
    materialize(settings, store, until=7)
    assert _gaps(store) == [(3, 5, 0, False)]


def test_late_arrivals_close_the_gap_they_opened_whatever_the_batching(
    settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    chain = hash_chain(8)
    publish(settings, [chain[0], chain[3], chain[1]])
    materialize(settings, store, until=3)
    assert _gaps(store) == [(1, 2, 1, False)], "seq 1 arrived, seq 2 still missing"
    publish(settings, [chain[5], chain[2], chain[4], chain[6], chain[7]])
    materialize(settings, store, until=8)
    assert _gaps(store) == [(1, 2, 2, True), (4, 4, 1, True)]
    assert store.execute("SELECT count(*) FROM stream_breaks").fetchone() == (0,), "late links still hold"


def test_a_wrong_prev_hash_is_a_break_naming_both_events(settings: Settings, store: duckdb.DuckDBPyConnection) -> None:
    chain = hash_chain(3)
    forged = encoded(integrity={"stream_id": "agent-1/s1", "seq": 3, "prev_hash": "f" * 64})
    publish(settings, [*chain, forged])
    materialize(settings, store, until=4)
    (row,) = store.execute("SELECT stream_seq, kind, claimed_prev_hash, other_event_id FROM stream_breaks").fetchall()
    third = store.execute("SELECT event_id FROM events WHERE stream_seq = 2").fetchone()
    assert row[:3] == (3, "prev_hash_mismatch", "f" * 64) and row[3] == third[0]  # type: ignore[index]


def test_a_second_event_with_a_stored_sequence_number_is_a_duplicate(
    settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    chain = hash_chain(2)
    again = encoded(integrity={"stream_id": "agent-1/s1", "seq": 1, "prev_hash": None})
    publish(settings, [*chain, again])
    materialize(settings, store, until=3)
    kinds = sorted(r[0] for r in store.execute("SELECT kind FROM stream_breaks").fetchall())
    assert kinds == ["duplicate_seq", "prev_hash_mismatch"]


def test_copies_of_one_seq_are_each_one_duplicate_of_its_first_copy_and_break_no_later_link(
    settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    chain = hash_chain(3)
    copies = [encoded(integrity={"stream_id": "agent-1/s1", "seq": 1, "prev_hash": None}) for _ in range(3)]
    publish(settings, [*chain[:2], *copies, chain[2]])
    materialize(settings, store, until=6)
    rows = store.execute(
        "SELECT kind, count(*), count(DISTINCT other_event_id) FROM stream_breaks GROUP BY kind ORDER BY kind"
    ).fetchall()
    assert rows == [("duplicate_seq", 3, 1), ("prev_hash_mismatch", 3, 1)], "one row per copy, none for seq 2"


def test_declared_gaps_are_kept_beside_the_gaps_they_explain(
    settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    chain = hash_chain(4)
    declaration = encoded(action={"type": "audit.gap", "name": "tool.call", "phase": "completed", "resource": None},
                          attributes={"reason": "spool_full", "dropped_events": "2", "first_seq": "1",
                                      "last_seq": "2"},
                          integrity={"stream_id": "agent-1/s1", "seq": 4, "prev_hash": None})
    publish(settings, [chain[0], chain[3], declaration])
    materialize(settings, store, until=3)
    assert _gaps(store) == [(1, 2, 0, False)]
    assert store.execute("SELECT first_seq, last_seq, dropped FROM stream_gap_declarations").fetchall() == [(1, 2, 2)]
