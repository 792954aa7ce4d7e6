"""DuckDB's own parser, as a JSON syntax tree: what the checks of user-supplied SQL look at.

Text a user gives us runs as SQL in two places, ``agenttrail sql`` (and ``/v1/sql``) and policy
conditions. Both are checked on the tree DuckDB itself parses (``json_serialize_sql``), never by
pattern-matching the text, so what is checked is exactly what would run.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb


def syntax_tree(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """``json_serialize_sql(sql)``: ``{"error": bool, "error_message": …, "statements": […]}``.

    DuckDB serializes only SELECT statements; anything else comes back as an error.
    """
    [(serialized,)] = con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchall()
    return dict(json.loads(serialized))


def node_types(node: Any, found: set[tuple[str, str | None]] | None = None) -> set[tuple[str, str | None]]:
    """Every (node type, table name) in a syntax tree: query nodes, table references, expressions."""
    found = set() if found is None else found
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            found.add((node["type"], node.get("table_name")))
        for value in node.values():
            node_types(value, found)
    elif isinstance(node, list):
        for value in node:
            node_types(value, found)
    return found
