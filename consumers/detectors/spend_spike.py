"""(1) Spend spike: an agent spending far more in a minute than it usually does (a runaway loop, a spree)."""

from __future__ import annotations

from agenttrail.anomaly_settings import AnomalySettings
from agenttrail.consumers.detectors.spikes import SpikeDetector


def detector(settings: AnomalySettings) -> SpikeDetector:
    own = settings.spend_spike
    return SpikeDetector("spend_spike", "points_spend", own, {"skip_actions": own.skip_actions})
