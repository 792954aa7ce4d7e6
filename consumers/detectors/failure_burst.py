"""(6) Failure burst: an agent failing or being denied far more than usual (probing, a broken loop)."""

from __future__ import annotations

from agenttrail.anomaly_settings import AnomalySettings
from agenttrail.consumers.detectors.spikes import SpikeDetector


def detector(settings: AnomalySettings) -> SpikeDetector:
    return SpikeDetector("failure_burst", "points_failures", settings.failure_burst)
