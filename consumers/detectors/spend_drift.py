"""(1b) Spend drift: the same spend in longer buckets, for a slow creep that no single minute gives away."""

from __future__ import annotations

from agenttrail.anomaly_settings import AnomalySettings
from agenttrail.consumers.detectors.spikes import SpikeDetector


def detector(settings: AnomalySettings) -> SpikeDetector:
    own = settings.spend_drift
    return SpikeDetector("spend_drift", "points_spend", own, {"skip_actions": own.skip_actions})
