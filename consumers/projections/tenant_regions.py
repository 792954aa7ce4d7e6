"""Each tenant's allowed regions, as append-only history from ``tenant.regions.*`` control events.

History rather than overwrite (DESIGN.md): a row per change with the store
sequence range it was in force, so "which regions were allowed when this event
was stored" is a join, not a replay, and the locality-violations query judges
every event by the rule in force at its own place in the store order.
"""

from __future__ import annotations

import duckdb

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.projections._sql import run_script


class TenantRegions:
    name = "tenant_regions"
    tables = ("tenant_regions",)

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        if batch.control.num_rows:
            run_script(tx, "apply_tenant_regions", batch_control=batch.control)
