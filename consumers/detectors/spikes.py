"""The spike engine: robust per-agent baselines on time buckets, shared by every spike detector.

A spike detector only says which events count and how much (its ``points`` SQL);
``spike_open.sql``, ``spike_bars.sql`` and ``spike_judge.sql`` do the statistics for
all of them in one pass, so adding one costs a points script, not another round of
queries per batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from agenttrail.anomaly_settings import SpikeSettings
from agenttrail.consumers.scripts import run_script, scalar
from agenttrail.consumers.store import sql

_ENGINE_SETTINGS = set(SpikeSettings.model_fields) - {"enabled"}


@dataclass(frozen=True)
class SpikeDetector:
    name: str  # the flag kind
    points: str  # consumers/sql/<points>.sql: INSERT INTO spike_points from batch_events, one row per event
    settings: SpikeSettings
    params: dict[str, Any] = field(default_factory=dict)  # the points script's own bound parameters


class Spikes:
    def __init__(self, detectors: list[SpikeDetector]) -> None:
        self.detectors = [d for d in detectors if d.settings.enabled]
        # One row per detector (the engine's settings, in the units the SQL wants) for the spike scripts to
        # join; what a subclass adds (the actions a points script reads) is that script's parameter.
        self._params = pa.Table.from_pylist([
            {"detector": d.name, **d.settings.model_dump(include=_ENGINE_SETTINGS),
             "bucket_us": d.settings.bucket_s * 1_000_000, "gap_us": d.settings.gap_s * 1_000_000}
            for d in self.detectors
        ])

    def detect(self, events: pa.Table, tx: duckdb.DuckDBPyConnection) -> None:
        """Add this batch's spike hits to ``anomaly_hits`` and move the buckets on."""
        if not self.detectors:
            return
        self._points(events, tx)
        # A bar leaves out earlier buckets that passed theirs, so buckets opened in the same batch are
        # fixed oldest first: one round live, several when a replay's batch spans minutes of a series,
        # none when the batch opened no bucket.
        pending = scalar(tx, "spike_open", spike_params=self._params)
        while pending:
            left = scalar(tx, "spike_bars", spike_params=self._params)
            if left >= pending:
                raise RuntimeError("spike_bars.sql made no progress")  # a bug, not bad input
            pending = left
        run_script(tx, "spike_judge", spike_params=self._params)
        if not scalar(tx, "spike_hits_count"):
            return
        # Evidence is read back from the stored events, so it is the same whatever the batch boundaries.
        stored = tx.sql(sql("spike_evidence_range")).to_arrow_table()
        run_script(tx, "spike_points_clear")
        self._points(stored, tx)
        run_script(tx, "spike_hits_write")

    def _points(self, events: pa.Table, tx: duckdb.DuckDBPyConnection) -> None:
        for detector in self.detectors:
            run_script(tx, detector.points, {"detector": detector.name, **detector.params}, batch_events=events)

