"""Anomaly detectors: each module one kind of unusual behaviour, each with its parameters in config.

=================  =========================  ==============================================
kind               module                     raised when
=================  =========================  ==============================================
spend_spike        spend_spike.py             an agent's spend in a minute passes its bar
spend_drift        spend_drift.py             usage spend in 5-min buckets vs 30 min before
rate_spike         rate_spike.py              an agent's actions in a minute pass their bar
new_behaviour      new_behaviour.py           an agent's first ever action type or resource
token_origin       token_origin.py            a token's first use from a region or address
region_violation   region_violation.py        an action outside the tenant's allowed regions
failure_burst      failure_burst.py           an agent's failures and denials pass their bar
sensitive_burst    sensitive_burst.py         its purchases (each kind) in 10 min pass their bar
=================  =========================  ==============================================

Two engines do the work: ``spikes.py`` (robust baselines on time buckets) and
``novelty.py`` (first time ever, after a learning period); a detector module
only declares which events it reads and its parameters
(``AGENTTRAIL_ANOMALIES__<KIND>__<PARAMETER>``, see ``agenttrail/anomaly_settings.py``).
Every detector judges events in store order on occurred_at, never on the wall
clock, so a rebuild raises the same flags.
"""

from __future__ import annotations

from typing import Protocol

import duckdb
import pyarrow as pa

from agenttrail.anomaly_settings import AnomalySettings
from agenttrail.consumers.detectors import (
    failure_burst,
    new_behaviour,
    rate_spike,
    region_violation,
    sensitive_burst,
    spend_drift,
    spend_spike,
    token_origin,
)
from agenttrail.consumers.detectors.novelty import Novelty
from agenttrail.consumers.detectors.spikes import Spikes


class Detector(Protocol):
    def detect(self, events: pa.Table, tx: duckdb.DuckDBPyConnection) -> None:
        """Add the batch's hits to the ``anomaly_hits`` scratch table and keep its own state."""


def default_detectors(settings: AnomalySettings) -> list[Detector]:
    return [
        Spikes([module.detector(settings) for module in (spend_spike, spend_drift, rate_spike, failure_burst,
                                                         sensitive_burst)]),
        Novelty([module.detector(settings) for module in (new_behaviour, token_origin)]),
        region_violation.detector(settings),
    ]
