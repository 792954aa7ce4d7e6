"""(1b) Spend drift: the same spend in longer buckets, for a slow creep that no single minute gives away."""

from __future__ import annotations

from agenttrail.anomaly_settings import AnomalySettings
from agenttrail.consumers.detectors.spikes import SpikeDetector


def detector(settings: AnomalySettings) -> SpikeDetector:
    return SpikeDetector("spend_drift", "points_spend", settings.spend_drift)
