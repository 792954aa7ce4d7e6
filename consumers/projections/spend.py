"""Exact spend per UTC day and per budget dimension (agent, principal, token, model, currency).

Sums are DECIMAL(38,9) end to end, never floats. Budget periods (week, month,
total) and scopes (tenant, principal) are sums over these rows, so one upsert per
batch serves every budget. Spend whose UTC day had closed more than five minutes
before it arrived still counts in its own day, and is listed in ``late_spend``.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.scripts import run_script

# Only what the SQL reads: registering every column (raw, nested lists and maps) costs DuckDB more to scan.
_COLUMNS = ["store_seq", "event_id", "received_at", "occurred_at", "tenant", "agent_id", "agent_model",
            "principal_id", "token_fingerprint", "cost_amount", "cost_currency"]
_LATE_US = 300_000_000  # five minutes: late_spend.sql's bound


class Spend:
    name = "spend"
    tables = ("spend_daily", "late_spend")

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        charged = batch.events.select(_COLUMNS)  # the SQL takes the charged rows; filtering here would copy
        if charged["cost_amount"].null_count == charged.num_rows:
            return
        run_script(tx, "apply_spend", batch_events=charged)
        if _may_be_late(charged):
            run_script(tx, "late_spend", batch_events=charged)


def _may_be_late(events: pa.Table) -> bool:
    """Whether any charge arrived more than five minutes after it occurred (live, almost never): only
    then can late_spend.sql, which also asks that its UTC day had closed, flag anything."""
    waited = pc.subtract(events["received_at"].cast(pa.int64()), events["occurred_at"].cast(pa.int64()))
    late = pc.and_(pc.is_valid(events["cost_amount"]), pc.greater(waited, _LATE_US))
    return bool(pc.any(late).as_py())
