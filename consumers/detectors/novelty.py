"""The novelty engine: the first time ever that a key (an agent, a token) does something, after learning.

A novelty detector only says what a key is seen doing (its ``points`` SQL);
``novelty_detect.sql`` remembers it all and raises hits for every detector in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from agenttrail.anomaly_settings import NoveltySettings
from agenttrail.consumers.scripts import run_script


@dataclass(frozen=True)
class NoveltyDetector:
    name: str  # the flag kind
    points: str  # consumers/sql/<points>.sql: INSERT INTO novelty_points from batch_events
    settings: NoveltySettings
    params: dict[str, Any] = field(default_factory=dict)  # the points script's own bound parameters


class Novelty:
    def __init__(self, detectors: list[NoveltyDetector]) -> None:
        self.detectors = [d for d in detectors if d.settings.enabled]
        self._params = pa.Table.from_pylist([
            {"detector": d.name, "learn_events": d.settings.learn_events, "learn_us": d.settings.learn_s * 1_000_000,
             "gap_us": d.settings.gap_s * 1_000_000}
            for d in self.detectors
        ])

    def detect(self, events: pa.Table, tx: duckdb.DuckDBPyConnection) -> None:
        """Add this batch's novelty hits to ``anomaly_hits`` and remember what every key did."""
        if not self.detectors:
            return
        for detector in self.detectors:
            run_script(tx, detector.points, {"detector": detector.name, **detector.params}, batch_events=events)
        run_script(tx, "novelty_detect", novelty_params=self._params)
