"""The anomaly detectors' parameters, one frozen model per detector, nested in ``Settings.anomalies``.

Each value is read from ``AGENTTRAIL_ANOMALIES__<DETECTOR>__<PARAMETER>``, e.g.
``AGENTTRAIL_ANOMALIES__SPEND_SPIKE__K=8``. The defaults were tuned on simulator
seed 1 and evaluated on other seeds (``agenttrail bench``, README "Anomaly detection").
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_SENSITIVE = ["subscription.activate", "domain.register", "token.issue", "deploy.release", "payment", "purchase"]


class SpikeSettings(BaseModel):
    """A robust spike test on one measure of an agent per time bucket.

    The bar for a bucket is the highest of: median + ``k`` scaled MADs of the previous
    ``window`` buckets (idle buckets count as zero), ``ratio`` times their ``quantile``, and
    ``floor``. A high quantile judges lumpy spend, such as purchases, against its own lumps,
    while a runaway's first buckets are too few to move it. Until an agent has
    ``min_history`` buckets of history the bar is ``cold_start`` instead, so a new agent
    is judged against a fixed ceiling rather than against nothing. With a ``lag``, the
    window ends that many buckets before the one judged, so a slow rise is measured
    against the level before it began rather than against its own first steps.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    bucket_s: int = Field(default=60, ge=1, le=86_400)
    window: int = Field(default=30, ge=3, le=1000)
    lag: int = Field(default=0, ge=0, le=1000)
    min_history: int = Field(default=10, ge=1)
    k: float = Field(default=6.0, gt=0)
    ratio: float = Field(default=4.0, ge=1)
    quantile: float = Field(default=0.95, gt=0, le=1)
    floor: float = Field(default=1.0, ge=0)
    cold_start: float = Field(default=50.0, gt=0)
    gap_s: int = Field(default=300, ge=0)  # a flag is extended, not raised again, while hits are this close
    severity: Literal["info", "warning", "critical"] = "warning"

    @model_validator(mode="after")
    def _history_fits_window(self) -> SpikeSettings:
        if self.min_history > self.window:
            raise ValueError("min_history must not exceed window")
        return self


class SpendSettings(SpikeSettings):
    # Action types left out: a slow creep is in usage (model and tool calls), purchases come in lumps.
    skip_actions: list[str] = Field(default_factory=list)


class SensitiveSettings(SpikeSettings):
    sensitive_actions: list[str] = Field(default_factory=lambda: list(_SENSITIVE))


class NoveltySettings(BaseModel):
    """Something never seen before for a key (an agent, a token), once the key has a history.

    A key is learning until it has ``learn_events`` events and ``learn_s`` seconds since its
    first one; what it does while learning is what it is expected to do.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    learn_events: int = Field(default=100, ge=0)
    learn_s: int = Field(default=900, ge=0)
    gap_s: int = Field(default=600, ge=0)


class NewBehaviourSettings(NoveltySettings):
    # Resource kinds whose ids are stable (an API, a bucket); accounts or domains are new every time.
    resource_kinds: list[str] = Field(default_factory=lambda: ["api", "bucket", "database", "model", "queue",
                                                                "repo", "service"])
    sensitive_actions: list[str] = Field(default_factory=lambda: list(_SENSITIVE))  # critical when new


class TokenOriginSettings(NoveltySettings):
    learn_events: int = Field(default=1, ge=0)
    learn_s: int = Field(default=0, ge=0)


class RegionViolationSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    gap_s: int = Field(default=3600, ge=0)


class AnomalySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Purchases come in lumps that no baseline of minutes describes: budgets cap them, and new_behaviour
    # flags an agent's first. A new agent's usage is capped by budgets (agent:*) and a generous ceiling.
    spend_spike: SpendSettings = SpendSettings(severity="critical", cold_start=5000.0, skip_actions=list(_SENSITIVE))
    # Usage spend in five-minute buckets against its median half an hour before: a slow creep no single
    # minute gives away, and that would otherwise raise its own baseline (and its MAD) as it climbs.
    spend_drift: SpendSettings = SpendSettings(bucket_s=300, window=24, lag=6, min_history=5, k=4.0, ratio=1.8,
                                               quantile=0.5, floor=0.3, cold_start=1e12, gap_s=1800,
                                               skip_actions=list(_SENSITIVE))
    # Counts are smooth, so a lower quantile is safe, and two runaway minutes do not raise the next bar.
    rate_spike: SpikeSettings = SpikeSettings(quantile=0.9, floor=30.0, cold_start=600.0)
    failure_burst: SpikeSettings = SpikeSettings(floor=5.0, cold_start=20.0)
    # Ten-minute counts of each kind of purchase, registration, token issue and deploy against its median,
    # from the agent's first such action of any kind: an agent that never buys has a bar of its floor, one
    # that buys daily is judged against its own rate; a median, since one lump of an earlier spree left in
    # the window would lift a high quantile. At least 5x it: at 4x, everyday domain registrations
    # (5 or 6 in ten minutes, usually 1-1.5) were false bursts on the used seeds 31-36.
    sensitive_burst: SensitiveSettings = SensitiveSettings(bucket_s=600, window=12, min_history=3, ratio=5.0,
                                                           quantile=0.5, floor=2.0, cold_start=60.0, gap_s=1800,
                                                           severity="critical")
    new_behaviour: NewBehaviourSettings = NewBehaviourSettings()
    token_origin: TokenOriginSettings = TokenOriginSettings()
    region_violation: RegionViolationSettings = RegionViolationSettings()

    @model_validator(mode="before")
    @classmethod
    def _over_tuned_defaults(cls, data: Any) -> Any:
        """One env key (``AGENTTRAIL_ANOMALIES__SPEND_DRIFT__K=5``) changes one parameter: the detector's
        other parameters keep the defaults tuned for it above, not the generic ones of its class."""
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, given in data.items():
            field = cls.model_fields.get(name)
            if field is not None and isinstance(given, dict) and isinstance(field.default, BaseModel):
                merged[name] = {**field.default.model_dump(), **given}
        return merged
