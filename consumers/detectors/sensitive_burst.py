"""(3b) Sensitive burst: an agent buying, registering, issuing tokens or deploying far more than usual.

``new_behaviour`` flags an agent's first purchase; this flags the second spree, and a
spree by an agent that does buy, but never at that rate. Each action type is its own
series, so an agent's everyday domain registrations do not set the bar for a spree of
purchases; all of them share the agent as their origin, so a type the agent starts
doing late is judged against the zeros since its first sensitive action of any type
instead of sitting in a cold start of its own.
"""

from __future__ import annotations

from agenttrail.anomaly_settings import AnomalySettings
from agenttrail.consumers.detectors.spikes import SpikeDetector


def detector(settings: AnomalySettings) -> SpikeDetector:
    own = settings.sensitive_burst
    return SpikeDetector("sensitive_burst", "points_sensitive", own, {"sensitive_actions": own.sensitive_actions})
