"""Recompute everything the store promises and say precisely what no longer holds.

Four checks, each naming what it found:

* checkpoints: each statement's digest and Ed25519 signature against a trusted
  public key (never one read from the database), and the chain of digests and ids;
* recorded leaves: each checkpoint's leaves still hash to its signed root;
* rows: every row's leaf recomputed in DuckDB from its columns (and raw re-hashed)
  against the leaf sealed for it, naming rows modified, deleted, inserted or moved,
  and for a modified row the columns that no longer match its own raw bytes;
* streams: open gaps (declared by an ``audit.gap`` event or not) and breaks that
  the streams projection recorded.

Rows stored after the last checkpoint are not yet tamper-evident; they are counted
as a warning. Declared gaps are warnings too: the trail itself says they exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail.checkpoint import Checkpoint
from agenttrail.consumers.intake import EVENT_COLUMNS, flatten
from agenttrail.consumers.leaves import leaf_table
from agenttrail.consumers.store import sql
from agenttrail.merkle import tree_root
from agenttrail.schemas.codec import default_codec
from agenttrail.signing import key_id

PROBLEM, WARNING, OK = "problem", "warning", "ok"
_ALL = {"first": -(2**63), "last": 2**63 - 1}
_NAMED_ROWS = 50  # rows whose changed columns are named; the rest are listed by store_seq only
_TRANSPORT = {"store_seq", "received_at", "kafka_topic", "kafka_partition", "kafka_offset"}

Step = Callable[[str], None]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    where: str
    detail: str


@dataclass
class Report:
    events: int = 0
    checkpoints: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    def add(self, check: str, status: str, where: str, detail: str) -> None:
        self.findings.append(Finding(check, status, where, detail))

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == PROBLEM]

    def summary(self) -> str:
        """One sentence: what failed and where (the first three), or that everything holds."""
        problems = self.problems
        if not problems:
            return f"The trail verifies: {self.events} events, {self.checkpoints} signed checkpoints."
        named = "; ".join(f"{f.where}: {f.detail}" for f in problems[:3])
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        return f"Verification found {len(problems)} problem(s): {named}{more}."

    def table(self) -> pa.Table:
        rows = [vars(f) for f in self.findings] or [
            {"check": "all", "status": OK, "where": "store", "detail": self.summary()}]
        return pa.Table.from_pylist(rows)


def verify_store(con: duckdb.DuckDBPyConnection, trusted: Callable[[], Ed25519PublicKey],
                 step: Step = lambda _: None) -> Report:
    """Run every check on ``con``; ``trusted`` gives the public key (asked only when checkpoints exist)."""
    started = time.perf_counter()
    (events,), = con.execute("SELECT count(*) FROM events").fetchall()
    report = Report(events=int(events))
    checkpoints = [Checkpoint(*row) for row in con.execute(sql("checkpoints_all")).fetchall()]
    report.checkpoints = len(checkpoints)
    step("checkpoint signatures")
    if checkpoints:
        _check_chain(report, checkpoints, trusted())
    step("recorded leaves")
    _check_recorded_leaves(con, report, checkpoints)
    step("rows re-hashed")
    _check_rows(con, report)
    step("streams")
    _check_streams(con, report)
    report.seconds = time.perf_counter() - started
    return report


def _check_chain(report: Report, checkpoints: list[Checkpoint], public: Ed25519PublicKey) -> None:
    trusted_id, previous = key_id(public), None
    for cp in checkpoints:
        where = f"checkpoint {cp.checkpoint_id}"
        problem = cp.problem(public, trusted_id)
        if problem:
            report.add("checkpoint", PROBLEM, where, problem)
        expected_id = previous.checkpoint_id + 1 if previous else 1
        if cp.checkpoint_id != expected_id:
            report.add("checkpoint", PROBLEM, where,
                       f"checkpoint(s) {expected_id}-{cp.checkpoint_id - 1} are missing from the chain")
        if cp.prev_digest != (previous.digest if previous else None):
            report.add("checkpoint", PROBLEM, where, "it does not chain to the checkpoint before it")
        previous = cp


def _check_recorded_leaves(con: duckdb.DuckDBPyConnection, report: Report, checkpoints: list[Checkpoint]) -> None:
    leaves = con.sql(sql("checkpoint_leaf_hashes"), params={"first": 1, "last": 2**63 - 1}).to_arrow_table()
    ids, hashes = leaves.column("checkpoint_id").to_pylist(), leaves.column("leaf").to_pylist()
    start = 0
    for cp in checkpoints:
        end = start
        while end < len(ids) and ids[end] == cp.checkpoint_id:
            end += 1
        if end == start or tree_root(hashes[start:end]).hex() != cp.root or end - start != cp.tree_size:
            report.add("leaves", PROBLEM, f"checkpoint {cp.checkpoint_id}",
                       "its recorded leaves no longer hash to its signed root")
        start = end


def _check_rows(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    con.register("verify_leaves", leaf_table(con, _ALL["first"], _ALL["last"], check_raw=True))
    try:
        changed = con.execute(sql("verify_rows")).fetchall()
    finally:
        con.unregister("verify_leaves")
    moved = _moved(changed)
    named = 0
    for store_seq, event_id, checkpoint_id, change in changed:
        where = f"store_seq {store_seq} (event {event_id}" + (
            f", checkpoint {checkpoint_id})" if checkpoint_id is not None else ", unsealed)")
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
    (unsealed, first), = con.execute(sql("verify_unsealed")).fetchall()
    if unsealed:
        report.add("seal", WARNING, f"store_seq {first} onward",
                   f"{unsealed} event(s) are not sealed into a checkpoint yet")


def _moved(changed: list[tuple[Any, ...]]) -> dict[str, int]:
    """Event ids both deleted (at one store_seq) and inserted (at another): rows whose store_seq was changed."""
    deleted = {e: s for s, e, _, c in changed if c == "deleted"}
    return {e: deleted[e] for _, e, _, c in changed if c == "inserted" and e in deleted}


def _changed_columns(con: duckdb.DuckDBPyConnection, store_seq: int, event_id: str) -> str:
    """Which columns of a modified row no longer match its own raw bytes (decoded again)."""
    rows = con.execute(sql("event_row"), {"store_seq": store_seq, "event_id": event_id}).fetchall()
    if not rows:
        return "its columns changed"
    row = rows[0]
    stored = dict(zip(EVENT_COLUMNS, row, strict=True))
    decoded = default_codec().decode(stored["raw"])
    expected = dict(zip(EVENT_COLUMNS, flatten(decoded, stored["raw"], *(stored[c] for c in (
        "store_seq", "received_at", "kafka_topic", "kafka_partition", "kafka_offset"))), strict=True))
    expected["attributes"] = dict(expected["attributes"])
    expected["occurred_at"] = (decoded["occurred_at"] - _EPOCH) // timedelta(microseconds=1)
    differ = [c for c in EVENT_COLUMNS if c not in _TRANSPORT and expected[c] != stored[c]]
    if not differ:
        return "a column not derived from raw changed (" + ", ".join(sorted(_TRANSPORT - {"store_seq"})) + ")"
    return "; ".join(f"{c} is {stored[c]!s:.40}, its raw bytes say {expected[c]!s:.40}" for c in differ)


def _check_streams(con: duckdb.DuckDBPyConnection, report: Report) -> None:
    for stream_id, first, last, missing, opened_at, declared_by in con.execute(sql("stream_open_gaps")).fetchall():
        span = f"seq {first}" if first == last else f"seq {first}-{last}"
        where = f"stream {stream_id} {span}"
        if declared_by:
            report.add("stream", WARNING, where, f"{missing} event(s) missing, declared by audit.gap {declared_by}")
        else:
            report.add("stream", PROBLEM, where,
                       f"{missing} event(s) missing and undeclared (noticed at store_seq {opened_at})")
    for stream_id, seq, event_id, kind, claimed, found, other in con.execute(sql("stream_breaks_all")).fetchall():
        where = f"stream {stream_id} seq {seq} (event {event_id})"
        if kind == "duplicate_seq":
            report.add("stream", PROBLEM, where, f"its sequence number is already taken by event {other}")
        else:
            report.add("stream", PROBLEM, where,
                       f"its prev_hash {str(claimed)[:12]}… is not the hash {str(found)[:12]}… of event {other}")
    (closed, late), = con.execute(sql("stream_closed_gaps")).fetchall()
    if closed:
        report.add("stream", OK, "all streams", f"{closed} gap(s) closed by {late} late arrival(s)")
