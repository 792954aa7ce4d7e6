"""The one way projections run their SQL: a ``consumers/sql/*.sql`` script over the batch's Arrow tables."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import duckdb
import pyarrow as pa

from agenttrail.consumers.store import sql


def run_script(tx: duckdb.DuckDBPyConnection, script: str, params: dict[str, Any] | None = None,
               **tables: pa.Table) -> None:
    """Run ``consumers/sql/<script>.sql`` with each of ``tables`` registered under its keyword name.

    The result is fetched to its end: DuckDB 2 refuses further work on a connection
    that still holds an unfinished result.
    """
    for name, table in tables.items():
        tx.register(name, table)
    try:
        tx.execute(sql(script), params).fetchall()
    finally:
        with suppress(duckdb.Error):  # in an aborted transaction this fails too, and would hide the cause
            for name in tables:
                tx.unregister(name)


def scalar(tx: duckdb.DuckDBPyConnection, script: str, params: dict[str, Any] | None = None) -> Any:
    """The single value ``consumers/sql/<script>.sql`` selects."""
    [(value,)] = tx.execute(sql(script), params).fetchall()
    return value
