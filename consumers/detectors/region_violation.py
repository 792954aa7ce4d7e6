"""(5) Region violation: an action outside its tenant's allowed regions (`agenttrail regions set`).

A rule, not a statistic: every violating action is a hit, one flag per agent and
region while it goes on. Tenants without a rule never raise it.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.anomaly_settings import AnomalySettings, RegionViolationSettings
from agenttrail.consumers.scripts import run_script, scalar


class RegionViolation:
    def __init__(self, settings: RegionViolationSettings) -> None:
        self.settings = settings

    def detect(self, events: pa.Table, tx: duckdb.DuckDBPyConnection) -> None:
        if not self.settings.enabled:
            return
        first_seq = pc.min(events["store_seq"]).as_py()
        if scalar(tx, "regions_in_force", {"first_seq": first_seq}):
            run_script(tx, "region_violations", {"gap_us": self.settings.gap_s * 1_000_000}, batch_events=events)


def detector(settings: AnomalySettings) -> RegionViolation:
    return RegionViolation(settings.region_violation)
