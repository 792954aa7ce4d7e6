"""(4) Token origin: a token used from a region or a source address never seen for it (a leak in use)."""

from __future__ import annotations

from agenttrail.anomaly_settings import AnomalySettings
from agenttrail.consumers.detectors.novelty import NoveltyDetector


def detector(settings: AnomalySettings) -> NoveltyDetector:
    return NoveltyDetector("token_origin", "points_token_origin", settings.token_origin)
