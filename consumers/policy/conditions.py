"""Checking and running rule conditions: DuckDB SQL expressions over one ``policy_events`` row.

Why SQL and not a language of our own (or CEL): the state a rule needs (flags,
lineage, enforcement) already lives in DuckDB tables, analysts already write SQL
against the same columns with ``agenttrail sql``, and DuckDB's parser and binder
check a condition exactly as it will run. A condition is one expression, spliced
into ``SELECT … FROM policy_events WHERE (<when>)``: that splice is the one place
text enters SQL, so the text is first parsed on its own (``json_serialize_sql``)
and refused unless it is a single SELECT over ``policy_events`` with no subquery
and no table function, then bound against an empty ``policy_events`` so an
unknown column or a type error is reported before the rule is ever loaded.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail._exceptions import PolicyError
from agenttrail.consumers.batch import EVENT_SCHEMA
from agenttrail.consumers.policy.rules import Rule, RuleSet
from agenttrail.consumers.scripts import run_script
from agenttrail.consumers.store import open_store
from agenttrail.sql_syntax import node_types, syntax_tree

_FORBIDDEN = {"SUBQUERY", "TABLE_FUNCTION", "EXPRESSION_LIST", "JOIN", "SET_OPERATION_NODE", "CTE_NODE"}


def matching_query(rule: Rule) -> str:
    """The statement that selects the events a rule fires on.

    Bound parameters: $tenant ('*' for all), and $from_seq/$to_seq, the store_seq range its
    set was in force. Those filters are applied in an inner query, so no text in ``when``
    (say, a stray ``) OR (``) can widen them: ``when`` only filters rows already in scope.
    """
    return ("SELECT * FROM (SELECT * FROM policy_events WHERE ($tenant = '*' OR tenant = $tenant) "
            "AND store_seq > $from_seq AND ($to_seq IS NULL OR store_seq < $to_seq)) "
            f"WHERE ({rule.when})")


def check_conditions(ruleset: RuleSet) -> None:
    """Raise PolicyError (naming the rule's line) for the first condition that is unsafe or does not bind.

    The check runs on a scratch in-memory store with the same schema: a condition that fails to
    bind aborts the transaction it runs in, and this must never be the materializer's.
    """
    con = open_store(Path(":memory:"))
    try:
        _check(con, ruleset)
    finally:
        con.close()


def _check(con: duckdb.DuckDBPyConnection, ruleset: RuleSet) -> None:
    build_policy_events(con, EVENT_SCHEMA.empty_table())
    for rule in ruleset.rules:
        probe = f"SELECT * FROM policy_events WHERE ({rule.when})"
        parsed = syntax_tree(con, probe)
        if parsed.get("error") or len(parsed.get("statements", [])) != 1:
            reason = parsed.get("error_message") or "not a single expression"
            raise PolicyError(f"line {rule.line}: rule {rule.id!r}: `when` is not one SQL expression ({reason}).")
        nodes = node_types(parsed)
        if any(kind in _FORBIDDEN or (kind == "BASE_TABLE" and table != "policy_events") for kind, table in nodes):
            raise PolicyError(f"line {rule.line}: rule {rule.id!r}: `when` may use the columns of policy_events "
                              "and functions, not subqueries, joins, other tables or table functions.")
        try:
            con.execute(f"SELECT count(*) FROM ({matching_query(rule)})",
                        {"tenant": "*", "from_seq": 0, "to_seq": None}).fetchall()
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise PolicyError(f"line {rule.line}: rule {rule.id!r}: `when` does not run: {first}") from None


def build_policy_events(tx: duckdb.DuckDBPyConnection, events: pa.Table) -> None:
    """The ``policy_events`` temp table for ``events`` (EVENT_SCHEMA rows), state as of each event."""
    run_script(tx, "policy_events", batch_events=events)
    if events["cost_amount"].null_count < events.num_rows:
        run_script(tx, "policy_events_spend", {"first_seq": pc.min(events["store_seq"]).as_py()},
                   batch_events=events)
