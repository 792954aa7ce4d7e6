"""The DuckDB file: opening it, its schema, and the single place DuckDB errors are converted.

DuckDB allows one writing process per file. ``open_store`` turns the lock
conflict into ``StoreLockedError`` naming the process that holds the file,
because "IO Error: Could not set lock" tells an operator nothing they can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path

import duckdb

from agenttrail._exceptions import StoreError, StoreLockedError
from agenttrail.runtime import process_name

SCHEMA_VERSION = "1"
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


def open_store(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and, when writable, create or upgrade) the store at ``path``."""
    if read_only and not path.exists():
        raise StoreError(f"There is no database at {path} yet; run `agenttrail demo` or `agenttrail serve` first.")
    with map_duckdb_errors(path):
        con = duckdb.connect(str(path), read_only=read_only)
        if not read_only:
            # DuckDB checkpoints every 16 MB of WAL by default, and each checkpoint costs more as
            # the table grows: at 500k events that was 40% of ingest time. Commits still write the
            # WAL, so this trades only a longer replay after a crash, never durability.
            con.execute("SET wal_autocheckpoint = '128MB'")
            for script in schema_scripts():
                con.execute(script)
            con.execute(
                "INSERT INTO store_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING", [SCHEMA_VERSION]
            )
    return con


def restrict_to_reading(con: duckdb.DuckDBPyConnection) -> None:
    """No file reads, no COPY, no extensions: for connections that run user-supplied SQL."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
