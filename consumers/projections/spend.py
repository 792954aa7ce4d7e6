"""Exact spend per UTC day and per budget dimension (agent, principal, token, model, currency).

Sums are DECIMAL(38,9) end to end, never floats. Budget periods (week, month,
total) and scopes (tenant, principal) are sums over these rows, so one upsert per
batch serves every budget. Spend whose UTC day had closed more than five minutes
before it arrived still counts in its own day, and is listed in ``late_spend``.
"""

from __future__ import annotations

import duckdb

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.projections._sql import run_script


class Spend:
    name = "spend"
    tables = ("spend_daily", "late_spend")

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        charged = batch.events  # the SQL takes the charged rows; filtering here would copy every column
        if charged["cost_amount"].null_count < charged.num_rows:
            run_script(tx, "apply_spend", batch_events=charged)
