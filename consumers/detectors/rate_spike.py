"""(2) Action-rate spike: an agent acting far more often than it usually does, paid or not."""

from __future__ import annotations

from agenttrail.anomaly_settings import AnomalySettings
from agenttrail.consumers.detectors.spikes import SpikeDetector


def detector(settings: AnomalySettings) -> SpikeDetector:
    return SpikeDetector("rate_spike", "points_actions", settings.rate_spike)
