"""Backtesting a rule file: the stored history, through the same evaluation as live, with no side effects.

It reads the stored events since a time in store order, page by page, evaluates
them with ``engine.evaluate`` against the state as of each event (flags,
lineage, enforcement in the store), and returns the decisions the rules would
have made. It writes only temp tables, so a read-only store is enough; and with
a set loaded before the same events, it returns what live evaluation decided.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import duckdb
import pyarrow as pa

from agenttrail.consumers.batch import EVENT_SCHEMA
from agenttrail.consumers.policy.conditions import check_conditions
from agenttrail.consumers.policy.engine import LoadedSet, evaluate
from agenttrail.consumers.policy.rules import RuleSet
from agenttrail.consumers.scripts import run_script
from agenttrail.consumers.store import sql


def backtest(con: duckdb.DuckDBPyConnection, rules: RuleSet, *, since: datetime | None, tenant: str = "*",
             name: str = "backtest", page_size: int = 5000,
             on_progress: Callable[[int], None] | None = None) -> pa.Table:
    """The decisions ``rules`` would have made on the stored events since ``since`` (PolicyError if invalid)."""
    check_conditions(rules)
    run_script(con, "policy_hits_clear")
    loaded = [LoadedSet(tenant, name, rules)]
    after = 0
    while True:
        page = con.sql(sql("policy_backtest_page"), params={"after": after, "since": since, "limit": page_size}) \
            .to_arrow_table()
        if page.num_rows == 0:
            break
        evaluate(con, loaded, page.cast(EVENT_SCHEMA))
        after = page["store_seq"][-1].as_py()
        if on_progress is not None:
            on_progress(page.num_rows)
    decisions: pa.Table = con.sql(sql("policy_backtest_decisions")).to_arrow_table()
    return decisions
