"""Named queries (the ``*.sql`` files next to this module) and checked ad-hoc SQL.

A named query is one SELECT statement in ``queries/<name>.sql``. The file opens with a
header of ``--`` comment lines, which is the query's whole documentation and contract::

    -- Every action of one agent in a time range, newest first.
    -- param agent: text required -- agent id
    -- param since: timestamp -- earliest occurred_at, e.g. 2h or 2026-11-01
    -- param limit: int = 1000 -- maximum rows

Header grammar (the header ends at the first line that is not a ``--`` comment):

* description: the comment lines before the first ``param`` line (the first of them is
  the one-line ``summary``);
* ``-- param NAME: TYPE [required | = DEFAULT] [-- DESCRIPTION]``, one per parameter,
  and after the first one every header line must be a ``param`` line (so a misspelt
  ``-- parm`` among them fails loudly instead of dropping a parameter);
* TYPE is ``text`` (bound as given), ``int`` (a whole number, 0 or more) or
  ``timestamp`` (``30m``, ``2h``, ``7d`` or ISO 8601, see ``agenttrail.timeparse``);
* an optional parameter without a DEFAULT is bound as NULL, so the SQL writes
  ``($tenant IS NULL OR tenant = $tenant)``. DEFAULT is one word (no spaces) and is
  converted at run time, so ``= 7d`` means "seven days before this run".

Values are always bound as DuckDB named parameters (``$name``), never formatted into the
SQL text. Both ``run_query`` and ``run_sql`` run exactly one SELECT; DuckDB errors while
running become ``QueryError`` with one sentence. ``run_sql`` relies on the connection for
the rest of its safety: give it a connection opened read-only, after
``restrict_to_reading`` (no file access), because a SELECT can still call table functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import duckdb
import pyarrow as pa

from agenttrail._exceptions import (
    QueryError,
    QueryParameterError,
    ReadOnlyQueryError,
    UnknownQueryError,
)
from agenttrail.output import inert
from agenttrail.sql_syntax import node_types, syntax_tree
from agenttrail.timeparse import parse_time

PARAM_TYPES = ("text", "int", "timestamp")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_PARAM_LINE = re.compile(
    r"param\s+(?P<name>[a-z_][a-z0-9_]*)\s*:\s*(?P<type>[a-z]+)"
    r"(?:\s+(?P<required>required)|\s*=\s*(?P<default>\S+))?"
    r"\s*(?:--\s*(?P<doc>.*))?"
)
_MAX_INT = 2**63 - 1


@dataclass(frozen=True)
class QueryParam:
    """One declared parameter of a named query."""

    name: str
    type: str
    required: bool
    default: str | None
    description: str

    def usage(self) -> str:
        """``agent (required)``, ``limit (default 1000)`` or ``tenant``: for help and errors."""
        if self.required:
            return f"{self.name} (required)"
        return self.name if self.default is None else f"{self.name} (default {self.default})"


@dataclass(frozen=True)
class QueryInfo:
    """A named query: its name, what it answers, and the parameters it takes."""

    name: str
    description: str
    params: tuple[QueryParam, ...]
    sql: str = field(repr=False)

    @property
    def summary(self) -> str:
        """The description's first line, for one-line listings."""
        return self.description.splitlines()[0]

    def usage(self) -> str:
        """The parameter list as one phrase, e.g. ``agent (required), limit (default 1000)``."""
        return ", ".join(p.usage() for p in self.params) or "none"


def list_queries() -> list[QueryInfo]:
    """Every shipped named query, sorted by name."""
    return [_load(name) for name in _names()]


def get_query(name: str) -> QueryInfo:
    """The named query ``name`` (dashes read as underscores); ``UnknownQueryError`` lists the names."""
    name = name.replace("-", "_")
    if name not in _names():
        raise UnknownQueryError(
            f"There is no query named {inert(name)!r}; the queries are: {', '.join(_names())}."
        )
    return _load(name)


def run_query(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, str | None]
) -> pa.Table:
    """Run the named query with ``params`` (strings, as typed; ``None`` means not given).

    Raises ``UnknownQueryError`` for a name that does not exist, ``QueryParameterError``
    for an unknown or missing parameter or a value of the wrong type (each naming the
    query's parameters), and ``QueryError`` when DuckDB fails while running it.
    """
    query = get_query(name)
    return _run(con, query.sql, bind(query, params), what=f"Query {query.name}")


def bind(query: QueryInfo, params: Mapping[str, str | None]) -> dict[str, object]:
    """The DuckDB parameter values for ``query``: checked, defaulted and converted."""
    declared = {p.name: p for p in query.params}
    for given in params:
        if given not in declared:
            raise QueryParameterError(
                f"Query {query.name} has no parameter {inert(given)!r}; "
                f"its parameters are: {query.usage()}."
            )
    values: dict[str, object] = {}
    for param in query.params:
        raw = params.get(param.name)
        if raw is None:
            raw = param.default
        if raw is None and param.required:
            raise QueryParameterError(
                f"Query {query.name} needs the parameter {param.name}; "
                f"its parameters are: {query.usage()}."
            )
        values[param.name] = None if raw is None else _convert(query.name, param, raw)
    return values


def run_sql(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """Run ``sql`` if it is exactly one SELECT statement, and return its rows.

    Raises ``ReadOnlyQueryError`` for anything else (several statements, DELETE, COPY,
    ATTACH, PRAGMA, ...) or for a SELECT the connection forbids (reading files), and
    ``QueryError`` for SQL that does not parse or fails while running.
    """
    statement = _single_select(con, sql)
    _refuse_writes(con, statement.query)
    return _run(con, statement, {}, what="The SQL")


# Query nodes that only read. Since DuckDB 1.4 a SELECT statement may hold a data-modifying CTE
# (``WITH d AS (DELETE FROM events RETURNING *) SELECT * FROM d``): its DELETE_QUERY_NODE (or
# INSERT_, UPDATE_, MERGE_INTO_…) ran on serve's writable connection, which restrict_to_reading
# does not stop.
_READING_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "CTE_NODE", "RECURSIVE_CTE_NODE"})


def _refuse_writes(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise ReadOnlyQueryError unless every query node of ``sql`` (one SELECT statement) only reads."""
    with _query_errors("The SQL"):
        tree = syntax_tree(con, sql)
    if tree.get("error"):
        raise ReadOnlyQueryError(f"Only a plain SELECT can run here: {inert(str(tree.get('error_message')))}.")
    writing = sorted({kind for kind, _ in node_types(tree) if kind.endswith("_NODE")} - _READING_NODES)
    if writing:
        raise ReadOnlyQueryError(f"Only a SELECT that reads can run here, and this one holds a "
                                 f"{writing[0].removesuffix('_QUERY_NODE').replace('_', ' ')}.")


def _single_select(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.Statement:
    with _query_errors("The SQL"):
        statements = con.extract_statements(sql)
    if len(statements) != 1:
        raise ReadOnlyQueryError(
            f"Give exactly one SELECT statement; this text has {len(statements)}."
        )
    if statements[0].type != duckdb.StatementType.SELECT:
        kind = statements[0].type.name.replace("_", " ")
        raise ReadOnlyQueryError(f"Only a SELECT can run here, and this is a {kind} statement.")
    return statements[0]


def _run(
    con: duckdb.DuckDBPyConnection,
    sql: str | duckdb.Statement,
    values: dict[str, object],
    *,
    what: str,
) -> pa.Table:
    with _query_errors(what):
        if isinstance(sql, str):
            sql = _single_select(con, sql)
        relation = con.sql(sql, params=values or None)
        if relation is None:  # only statements that return nothing; _single_select rules them out
            raise QueryError(f"{what} returned no result.")
        return relation.to_arrow_table()


@contextmanager
def _query_errors(what: str) -> Iterator[None]:
    """DuckDB errors as one sentence; the message can quote stored data, so it is made inert."""
    try:
        yield
    except duckdb.PermissionException:
        raise ReadOnlyQueryError(
            f"{what} tried to read files or change settings, which queries may not do."
        ) from None
    except duckdb.Error as exc:
        lines = str(exc).strip().splitlines() or [type(exc).__name__]
        reason = inert(lines[0]).rstrip(".!:; ")[:300]
        raise QueryError(f"{what} failed: {reason}.") from None


def _convert(query: str, param: QueryParam, raw: str) -> object:
    if param.type == "timestamp":
        return parse_time(raw, label=f"Query {query}'s parameter {param.name}:")
    if param.type == "int":
        text = raw.strip()
        if not (text.isascii() and text.isdigit()) or int(text) > _MAX_INT:
            raise QueryParameterError(
                f"Query {query}'s parameter {param.name} must be a whole number of 0 or more, "
                f"not {inert(raw)!r}."
            )
        return int(text)
    return raw


@cache
def _names() -> tuple[str, ...]:
    package = resources.files("agenttrail.queries")
    return tuple(
        sorted(
            entry.name.removesuffix(".sql")
            for entry in package.iterdir()
            if entry.name.endswith(".sql") and _NAME.fullmatch(entry.name.removesuffix(".sql"))
        )
    )


@cache
def _load(name: str) -> QueryInfo:
    sql = resources.files("agenttrail.queries").joinpath(f"{name}.sql").read_text("utf-8")
    description: list[str] = []
    params: list[QueryParam] = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        text = stripped.removeprefix("--").strip()
        match = _PARAM_LINE.fullmatch(text)
        if match:
            params.append(_param(name, match))
        elif params or text.startswith("param"):
            raise QueryError(f"The header of query {name} has a malformed param line: {text!r}.")
        elif text:
            description.append(text)
    if not description:
        raise QueryError(f"The query file {name}.sql starts with no description comment.")
    return QueryInfo(name, "\n".join(description), tuple(params), sql)


def _param(query: str, match: re.Match[str]) -> QueryParam:
    if match["type"] not in PARAM_TYPES:
        raise QueryError(
            f"Query {query}'s parameter {match['name']} has type {match['type']!r}; "
            f"use one of {', '.join(PARAM_TYPES)}."
        )
    return QueryParam(
        name=match["name"],
        type=match["type"],
        required=match["required"] is not None,
        default=match["default"],
        description=(match["doc"] or "").strip(),
    )
