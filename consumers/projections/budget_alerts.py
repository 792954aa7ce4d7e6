"""Budget alerts, seconds after the spend: thresholds of actual spend, and period-end forecasts.

It runs before ``Spend`` adds the batch to ``spend_daily``, so the period's spend
before the batch plus a running sum in store order names the exact charge that
crossed each threshold, whatever the batch boundaries. Each alert has an id built
from what fired (budget version, period, threshold), so it fires once: no storms.
The materializer publishes new alerts through the outbox; a rebuild does not.
"""

from __future__ import annotations

import duckdb
import pyarrow.compute as pc

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.scripts import run_script, scalar


class BudgetAlerts:
    name = "budget_alerts"
    tables = ("alerts",)

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        charged = batch.events  # the SQL takes the charged rows; filtering here would copy every column
        if charged.num_rows == 0 or charged["cost_amount"].null_count == charged.num_rows:
            return
        seqs = pc.min_max(charged["store_seq"])
        span = {"first_seq": seqs["min"].as_py(), "last_seq": seqs["max"].as_py()}
        # Most batches meet no budget: each check below is a fraction of a millisecond, the full
        # evaluation tens of milliseconds per batch.
        if not scalar(tx, "budgets_in_force", {"first_seq": span["first_seq"]}):
            return
        run_script(tx, "budget_charges", batch_events=charged)
        if not scalar(tx, "budget_charges_count"):
            return
        run_script(tx, "apply_budget_alerts")
        if scalar(tx, "alerts_raised_count", span):
            run_script(tx, "budget_alert_contributors", span)
