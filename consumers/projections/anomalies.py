"""Anomaly flags, seconds after the behaviour: every detector on every batch, then one writer for flags.

Detectors (``consumers/detectors/``) add hits to a scratch table; the writer
groups them into episodes, so a runaway agent raises one flag that grows, not a
flag per minute. The materializer announces new flags as alerts (kind
``anomaly.<detector>``) through the same outbox and webhooks as budget alerts.
"""

from __future__ import annotations

import duckdb

from agenttrail.anomaly_settings import AnomalySettings
from agenttrail.consumers.batch import Batch
from agenttrail.consumers.detectors import default_detectors
from agenttrail.consumers.scripts import run_script, scalar

# Only what the detectors read: registering every column (raw, nested lists and maps) costs DuckDB more to scan.
_COLUMNS = ["store_seq", "event_id", "received_at", "occurred_at", "tenant", "agent_id", "agent_region", "actor_chain",
            "phase", "action_type", "resource_kind", "resource_id", "resource_region", "data_region", "outcome",
            "token_fingerprint", "source_address", "cost_amount", "cost_currency"]


class Anomalies:
    name = "anomalies"
    tables = ("anomaly_flags", "anomaly_buckets", "anomaly_series", "anomaly_origins", "anomaly_seen", "anomaly_keys")

    def __init__(self, settings: AnomalySettings) -> None:
        self.detectors = default_detectors(settings)

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        if not batch.events.num_rows:
            return
        events = batch.events.select(_COLUMNS)
        run_script(tx, "anomaly_scratch")
        for detector in self.detectors:
            detector.detect(events, tx)
        if scalar(tx, "anomaly_hits_count"):
            run_script(tx, "anomaly_flags_write")
