"""(3) New behaviour: an agent doing an action type, or touching a resource, it has never touched before.

Only resource kinds with stable ids count (an API, a bucket); an account or domain
id is new every time by nature. A new sensitive action (buying, registering,
issuing tokens, deploying) is critical.
"""

from __future__ import annotations

from agenttrail.anomaly_settings import AnomalySettings
from agenttrail.consumers.detectors.novelty import NoveltyDetector


def detector(settings: AnomalySettings) -> NoveltyDetector:
    own = settings.new_behaviour
    return NoveltyDetector("new_behaviour", "points_new_behaviour", own,
                           {"resource_kinds": own.resource_kinds, "sensitive_actions": own.sensitive_actions})
