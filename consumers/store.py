"""The DuckDB file: opening it, its schema, and the single place DuckDB errors are converted.

DuckDB allows one writing process per file. ``open_store`` turns the lock
conflict into ``StoreLockedError`` naming the process that holds the file,
because "IO Error: Could not set lock" tells an operator nothing they can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail._exceptions import StoreError, StoreLockedError, StoreOutdatedError
from agenttrail.runtime import process_name

SCHEMA_VERSION = 6  # consumers/migrations.py has a step to here from every earlier one
_LOCK_PID = re.compile(r"\(PID (\d+)\)")


@cache
def sql(name: str) -> str:
    """The text of ``consumers/sql/<name>.sql``."""
    return resources.files("agenttrail.consumers").joinpath("sql", f"{name}.sql").read_text("utf-8")


@cache
def schema_scripts() -> tuple[str, ...]:
    """Every ``consumers/sql/schema/*.sql`` in name order: the core tables first, then each projection's.

    Each projection owns one file, so adding a projection never edits another's DDL.
    """
    folder = resources.files("agenttrail.consumers").joinpath("sql", "schema")
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return tuple(folder.joinpath(name).read_text("utf-8") for name in names)


@contextmanager
def map_duckdb_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except duckdb.IOException as exc:
        match = _LOCK_PID.search(str(exc))
        if match:
            holder = process_name(int(match.group(1)))
            raise StoreLockedError(
                f"The database {path} is in use by {holder}; stop it, or query through "
                "`agenttrail serve` which answers while it writes."
            ) from None
        raise StoreError(f"The database {path} cannot be opened: {exc}") from None
    except duckdb.Error as exc:
        raise StoreError(f"The database {path} failed: {exc}") from None


def open_store(path: Path, *, read_only: bool = False, outdated_ok: bool = False,
               memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open (and, when writable, create) the store at ``path``.

    A store written by an older schema is refused with StoreOutdatedError before anything in
    it changes: ``agenttrail migrate`` (``consumers.migrations``) upgrades it after a backup,
    and opens it with ``outdated_ok``. ``memory_limit`` caps DuckDB's cache
    (``AGENTTRAIL_DUCKDB_MEMORY_LIMIT``); None leaves DuckDB's default.
    """
    if read_only and not path.exists():
        raise StoreError(f"There is no database at {path} yet; run `agenttrail demo` or `agenttrail serve` first.")
    with map_duckdb_errors(path):
        con = duckdb.connect(str(path), read_only=read_only,
                             config={"memory_limit": memory_limit} if memory_limit else {})
        version = stored_version(con)
        if version is not None and version < SCHEMA_VERSION and not outdated_ok:
            con.close()
            raise StoreOutdatedError(
                f"The database {path} was written by schema version {version} and this release writes "
                f"{SCHEMA_VERSION}; run `agenttrail migrate` (it keeps a backup), or start `agenttrail serve`, "
                "which migrates it first.")
        if not read_only:
            # DuckDB checkpoints every 16 MB of WAL by default, and each checkpoint costs more as
            # the table grows: at 500k events that was 40% of ingest time. Commits still write the
            # WAL, so this trades only a longer replay after a crash, never durability.
            con.execute("SET wal_autocheckpoint = '128MB'")
            for script in schema_scripts():
                con.execute(script)
            con.execute(
                "INSERT INTO store_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING", [str(SCHEMA_VERSION)]
            )
    return con


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version a store records; None for a new, empty one."""
    if not con.execute(sql("store_meta_exists")).fetchall():
        return None
    rows = con.execute(sql("schema_version")).fetchall()
    return int(rows[0][0]) if rows else None


def insert_new_events(tx: duckdb.DuckDBPyConnection, events: pa.Table) -> pa.Table:
    """Insert the rows of ``events`` whose event_id is not stored yet, and return them.

    Call inside the batch's transaction, with event ids unique within ``events``. The ids
    go into event_keys first (its primary key decides what is new), then only new rows
    into events.
    """
    tx.register("batch_events", events)
    try:
        new = tx.execute(sql("insert_event_keys")).fetchall()
        if len(new) < events.num_rows:
            events = events.filter(pc.is_in(events.column("event_id"), value_set=pa.array([r[0] for r in new],
                                                                                          pa.string())))
            tx.unregister("batch_events")
            tx.register("batch_events", events)
        tx.execute(sql("insert_events"))
    finally:
        with suppress(duckdb.Error):  # in an aborted transaction this fails too, and would hide the cause
            tx.unregister("batch_events")
    return events


def restrict_to_reading(con: duckdb.DuckDBPyConnection) -> None:
    """No file reads, no COPY, no extensions: for connections that run user-supplied SQL.

    DuckDB refuses to turn external access back on while the database runs, so this holds for
    every cursor. The configuration is not locked beyond that: the materializer sharing the
    database sets its thread count per batch, and user SQL is one SELECT, which cannot SET.
    """
    con.execute("SET enable_external_access = false")
