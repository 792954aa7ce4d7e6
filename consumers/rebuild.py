"""Replay the stored events (and control events) through the projections: rebuild their tables, or check the live ones.

Projections depend only on the stored order of events (DESIGN.md, "Replay must equal
live"), so clearing their tables and replaying every event in ``store_seq`` order, in
batches of any size, must reproduce them exactly. ``rebuild`` does that in one
transaction, so a failure leaves the old tables; ``check_rebuild`` does it too and
then rolls back, reporting the rows that differ. Both need the database writable:
the process that holds the file (``agenttrail serve`` or ``consume``) must stop first.

After a retention run removed events (``consumers/projections/retention.py``), a replay
cannot see them: it starts from the projection tables as that run left them (the
``retention_baseline`` schema) and replays what was stored after it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from agenttrail.consumers.batch import CONTROL_SCHEMA, EVENT_SCHEMA, Batch, Projection
from agenttrail.consumers.store import sql

Progress = Callable[[int], None]
BASELINE_META = "retention_baseline_seq"  # store_meta: the first store_seq the retention baseline does not include
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_LAST_SEQ = 2**63 - 1


@dataclass(frozen=True)
class Difference:
    """How one projection table's live rows differ from a rebuild's."""

    table: str
    live_only: int  # rows in the live table a rebuild does not produce
    rebuilt_only: int  # rows a rebuild produces that the live table lacks


def rebuild(con: duckdb.DuckDBPyConnection, projections: Sequence[Projection], *, batch_size: int,
            on_progress: Progress | None = None) -> int:
    """Clear every projection's tables and replay all stored events; returns how many were replayed."""
    con.begin()
    try:
        replayed = _replay(con, projections, batch_size, on_progress)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return replayed


def check_rebuild(con: duckdb.DuckDBPyConnection, projections: Sequence[Projection], *, batch_size: int,
                  on_progress: Progress | None = None) -> list[Difference]:
    """Rebuild inside a transaction that is rolled back, and compare with the live tables.

    Returns one ``Difference`` per table whose rows differ; empty means equal. Rows
    are compared as multisets, so a duplicated row is a difference too.
    """
    tables = [table for projection in projections for table in projection.tables]
    con.begin()
    try:
        live = {table: con.table(checked_table(table)).to_arrow_table() for table in tables}
        _replay(con, projections, batch_size, on_progress)
        differences = [_compare(con, table, live[table]) for table in tables]
    finally:
        con.rollback()
    return [d for d in differences if d.live_only or d.rebuilt_only]


def _replay(con: duckdb.DuckDBPyConnection, projections: Sequence[Projection], batch_size: int,
            on_progress: Progress | None) -> int:
    # A projection without tables (the checkpoint sealer) writes evidence, not a view of the
    # events: a replay must neither clear nor re-sign it.
    projections = [projection for projection in projections if projection.tables]
    start = _baseline_start(con)
    copied = {name for (name,) in con.execute(sql("baseline_tables")).fetchall()} if start else set()
    for projection in projections:
        for table in map(checked_table, projection.tables):
            # Table names come from the projection's code, never from input; checked to be plain names.
            con.execute(f"DELETE FROM {table}")
            if table in copied:
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM retention_baseline.{table}")
    replayed = 0
    for events, control in _pages(con, batch_size, after=start - 1):
        last = events if events.num_rows else control
        batch = Batch(events=events, received_at=last.column("received_at")[-1].as_py(), control=control)
        for projection in projections:
            projection.apply(batch, con)
        replayed += events.num_rows + control.num_rows
        if on_progress is not None:
            on_progress(events.num_rows + control.num_rows)
    return replayed


def _baseline_start(con: duckdb.DuckDBPyConnection) -> int:
    """The first store_seq a replay must see: after the newest retention baseline, else the first (0)."""
    rows = con.execute(sql("store_meta_value"), {"key": BASELINE_META}).fetchall()
    return int(rows[0][0]) if rows else 0


def _pages(con: duckdb.DuckDBPyConnection, batch_size: int, after: int) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Pages of (events, control events) in store order after ``after``; a page's control events lie in its range."""
    while True:
        events = con.sql(sql("replay_events"), params={"after": after, "limit": batch_size}).to_arrow_table()
        upto = events.column("store_seq")[-1].as_py() if events.num_rows else _LAST_SEQ
        control = con.sql(sql("replay_control"), params={"after": after, "upto": upto}).to_arrow_table()
        if events.num_rows == 0 and control.num_rows == 0:
            return
        yield events.cast(EVENT_SCHEMA), control.cast(CONTROL_SCHEMA)
        if events.num_rows == 0:
            return
        after = upto


def _compare(con: duckdb.DuckDBPyConnection, table: str, live: pa.Table) -> Difference:
    """Rows in one and not the other, as multisets: a duplicated row counts (not every table has a key)."""
    con.register("live_rows", live)
    try:
        # Table names come from the projection's code, never from input; checked to be plain names.
        [(live_only,)] = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM live_rows EXCEPT ALL SELECT * FROM {checked_table(table)})"
        ).fetchall()
        [(rebuilt_only,)] = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM {checked_table(table)} EXCEPT ALL SELECT * FROM live_rows)"
        ).fetchall()
    finally:
        con.unregister("live_rows")
    return Difference(table, int(live_only), int(rebuilt_only))


def checked_table(table: str) -> str:
    if not _IDENTIFIER.fullmatch(table):
        raise ValueError(f"projection table name {table!r} is not a plain identifier")
    return table
