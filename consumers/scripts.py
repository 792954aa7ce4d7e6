"""The one way projections and detectors run their SQL: a ``consumers/sql/*.sql`` script over Arrow tables."""

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


def scalar(tx: duckdb.DuckDBPyConnection, script: str, params: dict[str, Any] | None = None,
           **tables: pa.Table) -> Any:
    """The single value the last statement of ``consumers/sql/<script>.sql`` selects (tables as in run_script)."""
    for name, table in tables.items():
        tx.register(name, table)
    try:
        [(value,)] = tx.execute(sql(script), params).fetchall()
    finally:
        with suppress(duckdb.Error):
            for name in tables:
                tx.unregister(name)
    return value


def records(tx: duckdb.DuckDBPyConnection, script: str, params: dict[str, Any] | None = None,
            **tables: pa.Table) -> list[dict[str, Any]]:
    """The rows the one SELECT in ``consumers/sql/<script>.sql`` returns, as dicts (tables as in run_script).

    Timestamps come back as UTC datetimes through Arrow (DuckDB's own conversion of TIMESTAMPTZ needs pytz).
    """
    for name, table in tables.items():
        tx.register(name, table)
    try:
        result: pa.Table = tx.sql(sql(script), params=params).to_arrow_table()
        return result.to_pylist()
    finally:
        with suppress(duckdb.Error):
            for name in tables:
                tx.unregister(name)
