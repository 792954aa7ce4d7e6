"""Governance state as append-only history, from control events: regions, budgets, acknowledgements, leak reports,
retention periods.

History rather than overwrite (DESIGN.md): one row per change with the store
sequence range it was in force, so "which rule applied to this event" and
"what was allowed as of T" are joins, not replays; each event is judged by the
rule in force at its own place in the store order. One instance per kind of
state, each with its own table and its own ``consumers/sql/apply_*.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.scripts import run_script


@dataclass(frozen=True)
class ControlHistory:
    name: str
    tables: tuple[str, ...]
    script: str  # consumers/sql/<script>.sql, reading the batch's control events as batch_control

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        if batch.control.num_rows:
            run_script(tx, self.script, batch_control=batch.control)


TENANT_REGIONS = ControlHistory("tenant_regions", ("tenant_regions",), "apply_tenant_regions")
BUDGETS = ControlHistory("budget_history", ("budgets",), "apply_budget_history")
ANOMALY_ACKS = ControlHistory("anomaly_acks", ("anomaly_acks",), "apply_anomaly_acks")
LEAK_REPORTS = ControlHistory("leak_reports", ("leak_reports",), "apply_leak_reports")
RETENTION_PERIODS = ControlHistory("retention_periods", ("retention_periods",), "apply_retention_periods")
