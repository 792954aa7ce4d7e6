"""Budgets as append-only history from ``budget.set`` / ``budget.remove`` control events.

Each version keeps the store-sequence range it was in force, so "which limit
applied to this charge" and "remaining budget as of T" are joins, not replays.
"""

from __future__ import annotations

import duckdb

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.projections._sql import run_script


class BudgetHistory:
    name = "budget_history"
    tables = ("budgets",)

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        if batch.control.num_rows:
            run_script(tx, "apply_budget_history", batch_control=batch.control)
