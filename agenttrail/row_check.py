"""Every stored row against its seal: recompute its leaf, tie the leaves to the signed roots, name what changed.

The fast path is what an untouched store costs: all leaves recomputed (DuckDB
builds the row text, hashlib hashes it), compared in one vectorized step with the
leaves recorded at sealing, and each checkpoint's root rebuilt and compared with
its signed root. Only when something differs does it look closer:

* rows still hash to the signed root but the recorded leaves do not: only the
  leaf records were altered, the evidence itself is intact;
* rows do not hash to the signed root: one SQL join against the recorded leaves
  names each row deleted, inserted, moved (same event, another store_seq),
  modified (then the columns that no longer match its own raw bytes) or whose raw
  bytes changed.

A row a retention run removed counts with its leaf as recorded at sealing: its absence
is that run's signed fact (``agenttrail.retention_check`` checks the runs' statements),
not a deletion.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.checkpoint import Checkpoint
from agenttrail.consumers.intake import EVENT_COLUMNS, flatten
from agenttrail.consumers.leaves import leaf_table, root_of, with_removed
from agenttrail.consumers.store import sql
from agenttrail.findings import PROBLEM, WARNING, Report
from agenttrail.schemas.codec import default_codec

_NAMED_ROWS = 50  # modified rows whose changed columns are named; further ones are listed by store_seq only
_TRANSPORT = ("store_seq", "received_at", "kafka_topic", "kafka_partition", "kafka_offset")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def check_rows(con: duckdb.DuckDBPyConnection, report: Report, checkpoints: list[Checkpoint]) -> None:
    computed = _with_removed(con, report, leaf_table(con, -(2**63), 2**63 - 1))
    upto = checkpoints[-1].last_store_seq if checkpoints else 0
    sealed = computed.filter(pc.less_equal(computed.column("store_seq"), upto))
    recorded = con.sql(sql("recorded_leaves")).to_arrow_table()
    same = sealed.equals(recorded.select(["store_seq", "event_id", "leaf"]))
    seqs = sealed.column("store_seq").to_pylist()
    suspects = []
    for cp in checkpoints:
        where = f"checkpoint {cp.checkpoint_id}"
        rows = sealed.slice(bisect_left(seqs, cp.first_store_seq),
                            bisect_right(seqs, cp.last_store_seq) - bisect_left(seqs, cp.first_store_seq))
        rows_hold = root_of(rows) == cp.root
        if same:
            if not rows_hold:
                report.add("row", PROBLEM, where, "its rows and its leaf records were rewritten alike: "
                           "they no longer hash to its signed root")
            continue
        leaves_hold = root_of(recorded.filter(pc.equal(recorded.column("checkpoint_id"), cp.checkpoint_id))) == cp.root
        if not leaves_hold:
            report.add("leaves", PROBLEM, where, "its recorded leaves no longer hash to its signed root"
                       + ("" if rows_hold else ", so its changed rows may be named imprecisely"))
        if not rows_hold:
            suspects.append(cp.checkpoint_id)
    if not same:
        _name_rows(con, report, computed, suspects)
    _check_unsealed(con, report)


def _with_removed(con: duckdb.DuckDBPyConnection, report: Report, computed: pa.Table) -> pa.Table:
    """The stored rows' leaves, and the recorded leaf of each row a retention run removed, in tree order."""
    removed = con.sql(sql("retention_removed_leaves")).to_arrow_table()
    if removed.num_rows == 0:
        return computed
    removed = removed.filter(pc.is_valid(removed.column("leaf")))  # a leaf record deleted too: named by the roots
    keys = pc.binary_join_element_wise(computed.column("store_seq").cast(pa.string()), computed.column("event_id"), "/")
    gone = pc.binary_join_element_wise(removed.column("store_seq").cast(pa.string()), removed.column("event_id"), "/")
    back = pc.is_in(gone, value_set=keys)
    for again in removed.filter(back).select(["run_id", "store_seq", "event_id"]).to_pylist():
        report.add("row", PROBLEM, f"store_seq {again['store_seq']} (event {again['event_id']})",
                   f"it is stored again after retention run {again['run_id']} removed it")
    return with_removed(computed, removed.filter(pc.invert(back)))


def _name_rows(con: duckdb.DuckDBPyConnection, report: Report, computed: pa.Table, suspects: list[int]) -> None:
    con.register("verify_leaves", computed)
    try:
        changed = con.execute(sql("verify_rows"), {"ids": suspects}).fetchall()
    finally:
        con.unregister("verify_leaves")
    moved = _moved(changed)
    named = 0
    for store_seq, event_id, checkpoint_id, change in changed:
        inside = f"checkpoint {checkpoint_id}" if checkpoint_id is not None else "between checkpoints"
        where = f"store_seq {store_seq} (event {event_id}, {inside})"
        if event_id in moved:
            if change == "inserted":
                report.add("row", PROBLEM, where, f"moved here from store_seq {moved[event_id]}")
            continue
        detail = {"deleted": "deleted after it was sealed", "inserted": "inserted into a sealed range",
                  "raw_changed": "its raw bytes no longer hash to its event_hash"}.get(change, "")
        if change == "modified":
            detail = _changed_columns(con, store_seq, event_id) if named < _NAMED_ROWS else "its columns changed"
            named += 1
        report.add("row", PROBLEM, where, detail)


def _moved(changed: list[tuple[Any, ...]]) -> dict[str, int]:
    """Event ids both deleted (at one store_seq) and inserted (at another): rows whose store_seq was changed."""
    deleted = {e: s for s, e, _, c in changed if c == "deleted"}
    return {e: deleted[e] for _, e, _, c in changed if c == "inserted" and e in deleted}


def _changed_columns(con: duckdb.DuckDBPyConnection, store_seq: int, event_id: str) -> str:
    """Which columns of a modified row no longer match its own raw bytes (decoded again)."""
    rows = con.execute(sql("event_row"), {"store_seq": store_seq, "event_id": event_id}).fetchall()
    if not rows:
        return "its columns changed"
    stored = dict(zip(EVENT_COLUMNS, rows[0], strict=True))
    decoded = default_codec().decode(stored["raw"])
    expected = dict(zip(EVENT_COLUMNS, flatten(decoded, stored["raw"], *(stored[c] for c in _TRANSPORT)),
                        strict=True))
    expected["attributes"] = dict(expected["attributes"])
    expected["occurred_at"] = (decoded["occurred_at"] - _EPOCH) // timedelta(microseconds=1)
    differ = [c for c in EVENT_COLUMNS if c not in _TRANSPORT and expected[c] != stored[c]]
    if not differ:
        return "a column not derived from raw changed (" + ", ".join(_TRANSPORT[1:]) + ")"
    return "; ".join(f"{c} is {stored[c]!s:.40}, its raw bytes say {expected[c]!s:.40}" for c in differ)


def _check_unsealed(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    (unsealed, first, raw_changed), = con.execute(sql("verify_unsealed")).fetchall()
    if unsealed:
        report.add("seal", WARNING, f"store_seq {first} onward",
                   f"{unsealed} event(s) are not sealed into a checkpoint yet")
    if raw_changed:
        report.add("row", PROBLEM, f"store_seq {first} onward (unsealed)",
                   f"{raw_changed} unsealed event(s) whose raw bytes no longer hash to their event_hash")
