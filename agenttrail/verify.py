"""Recompute everything the store promises and say precisely what no longer holds.

Three checks, each naming what it found:

* checkpoints: each statement's digest and Ed25519 signature against a trusted
  public key (never one read from the database), and the chain of digests and ids;
* rows (``agenttrail.row_check``): every row's leaf recomputed from its columns and
  raw bytes and tied to its checkpoint's signed root, naming rows modified,
  deleted, inserted or moved, and for a modified row the columns that no longer
  match its own raw bytes;
* retention runs (``agenttrail.retention_check``): each signed statement of what a
  run removed, so rows gone by retention are a reported fact, not a deletion;
* streams: open gaps (declared by an ``audit.gap`` event or not) and breaks that
  the streams projection recorded.

Rows stored after the last checkpoint are not yet tamper-evident; they are counted
as a warning. Declared gaps are warnings too: the trail itself says they exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail.checkpoint import Checkpoint
from agenttrail.consumers.store import sql
from agenttrail.findings import OK, PROBLEM, WARNING, Report
from agenttrail.retention_check import check_retention
from agenttrail.row_check import check_rows
from agenttrail.signing import key_id

Step = Callable[[str], None]


def verify_store(con: duckdb.DuckDBPyConnection, trusted: Callable[[], Ed25519PublicKey],
                 step: Step = lambda _: None) -> Report:
    """Run every check on ``con``; ``trusted`` gives the public key (asked only when checkpoints exist)."""
    started = time.perf_counter()
    con.execute("SET enable_progress_bar = false")  # ours is on stderr already
    (events,), = con.execute("SELECT count(*) FROM events").fetchall()
    report = Report(events=int(events))
    checkpoints = [Checkpoint(*row) for row in con.execute(sql("checkpoints_all")).fetchall()]
    report.checkpoints = len(checkpoints)
    step("checkpoint signatures")
    if checkpoints:
        _check_chain(report, checkpoints, trusted())
    step("rows re-hashed")
    check_rows(con, report, checkpoints)
    step("retention runs")
    check_retention(con, report, trusted)
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
