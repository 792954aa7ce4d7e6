"""The fleet simulator's vocabulary: its agents and tokens, the failures it simulates, its report.

Apart from ``fleet`` so that module holds only the fleet's behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agenttrail.producers.scenarios import InjectedAnomaly
from agenttrail.producers.trail import Trail


class SimulatedFailure(Exception):
    """Raised inside an action so the SDK records it as failed; the agent then carries on."""


class ToolTimeout(SimulatedFailure):
    """A tool did not answer in time."""


class RateLimited(SimulatedFailure):
    """The model provider answered 429."""


class DeployFailed(SimulatedFailure):
    """A release did not pass its canary."""


@dataclass
class FleetReport:
    """What one ``Fleet.run`` emitted, and the ground truth of the anomalies it injected."""

    events: int  # emitted by this run: one per action, plus one per fail_closed ``started``
    per_tenant: dict[str, int]
    actions: dict[str, int]  # actions per type: the mix, identical for identical seeds
    agents: int
    sub_agents: int
    tenants: list[str]
    regions: list[str]
    tasks: int
    sample_root_event_id: str | None  # the root (agent.run) of a chain six actions deep
    seconds: float
    anomalies: list[InjectedAnomaly] = field(default_factory=list)  # the ground truth, by start
    emitted_wall: dict[str, float] = field(default_factory=dict)  # event id -> time.time() it left the SDK
    refused: int = 0  # tasks the SDK guard refused: their agent was suspended, or a token revoked

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass
class SimAgent:
    """One simulated agent: its identity, its tenant's home region and currency, its role's plan."""

    id: str
    tenant: str
    home: str
    currency: str
    role: tuple[str, str, str, dict[str, int]]
    versions: list[Trail]  # newest last


@dataclass
class SimToken:
    """A credential the fleet holds; only its fingerprint ever leaves the process."""

    raw: str
    token_id: str
    issuer: str
    scopes: list[str]
    uses: int = 0
