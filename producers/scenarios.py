"""Labelled anomalies the fleet injects into normal traffic: the ground truth detectors are scored on.

``Fleet(trail, pace=...).run(events, anomalies=N)`` plays N instances of each kind below,
through the SDK trails of the agent concerned, so they look like what a real agent would
record, while the rest of the fleet (and the same agent's normal tasks) keep running:

- ``runaway_loop``: one agent resends the same paid model call in a tight loop, at
  ``runaway_factor`` times its own event rate so far, for ``runaway_minutes``.
- ``subscription_spree``: an agent whose role never buys subscriptions activates
  ``spree_subscriptions`` of them within ``spree_minutes``.
- ``leaked_token``: an agent's existing token is used ``leak_uses`` times within
  ``leak_minutes`` from a region and a source address never seen for that token, some uses
  denied; the identity claimed is the agent's, as a replayed credential's would be.
- ``cost_creep``: an agent's usage spend (model and tool calls) rises linearly over
  ``creep_minutes`` to ``creep_factor`` times its rate so far, through extra model calls
  spread so thinly that no single minute stands out.

Ground truth. Each instance is one ``InjectedAnomaly``. Its window is ``[start, end]``:
the stored ``occurred_at`` of the first and of the last event it emitted (both inclusive,
on the fleet's virtual clock), and ``event_ids`` lists every event it emitted, the
``started`` and ``completed`` events of fail-closed actions alike. Normal events of the
same agent inside the window are not part of the anomaly. Detection delay is measured
from ``start``. Instances of one agent never overlap, and none starts in the first
``warmup`` of the run, so detectors have a baseline.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from agenttrail.producers.catalogue import MODELS, PLANS, REGIONS, llm_price
from agenttrail.producers.pacing import VirtualClock

if TYPE_CHECKING:
    from agenttrail.producers.fleet import Fleet
    from agenttrail.producers.fleet_types import SimAgent

Kind = Literal["runaway_loop", "subscription_spree", "leaked_token", "cost_creep"]
KINDS: tuple[Kind, ...] = ("runaway_loop", "subscription_spree", "leaked_token", "cost_creep")


@dataclass(frozen=True)
class InjectedAnomaly:
    """One injected instance and its ground-truth window (see the module docstring)."""

    kind: Kind
    tenant: str
    agent_id: str
    token_fingerprint: str | None  # leaked_token only: the keyed fingerprint, as stored
    start: datetime
    end: datetime
    event_ids: tuple[str, ...]


@dataclass(frozen=True)
class AnomalyShape:
    """How big and how long each kind is. The defaults are meant for a fleet at ``pace=20``
    with 24 agents, where a normal agent emits about 50 events per virtual minute."""

    runaway_factor: float = 15.0  # times the agent's own event rate: unmistakable, not absurd
    runaway_minutes: tuple[float, float] = (1.0, 3.0)
    spree_subscriptions: tuple[int, int] = (5, 15)
    spree_minutes: tuple[float, float] = (2.0, 6.0)
    leak_uses: tuple[int, int] = (10, 40)
    leak_minutes: tuple[float, float] = (2.0, 6.0)
    leak_denied: float = 0.3  # share of the stranger's calls the API refuses (scope, IP allow-list)
    creep_factor: float = 3.0  # the usage spend rate at the end of the window, times the baseline
    creep_minutes: tuple[float, float] = (20.0, 40.0)
    warmup: float = 0.25  # share of the run's virtual time before any anomaly starts

    def minutes(self, kind: Kind) -> tuple[float, float]:
        return {"runaway_loop": self.runaway_minutes, "subscription_spree": self.spree_minutes,
                "leaked_token": self.leak_minutes, "cost_creep": self.creep_minutes}[kind]


@dataclass
class Recording:
    """What one instance has emitted so far; ``result`` freezes it into an InjectedAnomaly."""

    kind: Kind
    agent: SimAgent
    clock: VirtualClock
    token_fingerprint: str | None = None
    event_ids: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None

    def add(self, event_id: str) -> None:
        """Called right after the SDK stamped ``event_id``: the clock's latest read is its occurred_at
        (the SDK reads the clock once per event; tests/test_scenarios.py checks windows against the store)."""
        occurred_at = self.clock.last
        self.event_ids.append(event_id)
        self.first = occurred_at if self.first is None else min(self.first, occurred_at)
        self.last = occurred_at if self.last is None else max(self.last, occurred_at)

    def result(self) -> InjectedAnomaly:
        """Raises ValueError if the instance emitted nothing (it would have no window)."""
        if self.first is None or self.last is None:
            raise ValueError(f"the {self.kind} injected into {self.agent.id} emitted no event")
        return InjectedAnomaly(self.kind, self.agent.tenant, self.agent.id, self.token_fingerprint,
                               self.first, self.last, tuple(self.event_ids))


# A behaviour emits its events through the fleet and yields the virtual seconds until its next step.
Behaviour = Callable[["Fleet", Recording, random.Random, AnomalyShape, float], Iterator[float]]


def eligible(kind: Kind, steps: dict[str, int]) -> bool:
    """Whether an agent whose role plans ``steps`` can carry ``kind`` so that it is anomalous."""
    buys = "subscription.activate" in steps or "domain.register" in steps
    if kind == "subscription_spree":
        return "subscription.activate" not in steps  # the role never buys subscriptions
    if kind == "leaked_token":
        return "token.use" in steps  # the role holds a token to leak
    if kind == "cost_creep":
        return not buys  # purchases would swamp the usage baseline the creep is measured against
    return True


def runaway_loop(fleet: Fleet, rec: Recording, rng: random.Random, shape: AnomalyShape,
                 seconds: float) -> Iterator[float]:
    """One task stuck resending an identical prompt: same model, same tokens, same cost."""
    trail = rec.agent.versions[-1]
    model = str(trail.agent["model"])
    cost, tokens_in, tokens_out = llm_price(rng, model)
    gap = 1.0 / (shape.runaway_factor * fleet.ledger.agent_rate(rec.agent.id))
    region = MODELS[model][2] or str(trail.agent["region"])
    elapsed = 0.0
    with fleet.act(trail, "agent.run", rec.agent.role[2], attributes={"task": "retry-until-valid"}):
        while elapsed < seconds:
            with fleet.act(trail, "llm.call", "draft", resource=("model", model), resource_region=region) as act:
                act.set_cost(cost, "USD", input_tokens=tokens_in, output_tokens=tokens_out)
            wait = gap * rng.uniform(0.5, 1.5)
            elapsed += wait
            yield wait


def subscription_spree(fleet: Fleet, rec: Recording, rng: random.Random, shape: AnomalyShape,
                       seconds: float) -> Iterator[float]:
    """One task that keeps buying plans it has no business buying, spaced over the window."""
    trail, count = rec.agent.versions[-1], rng.randint(*shape.spree_subscriptions)
    with fleet.act(trail, "agent.run", rec.agent.role[2], attributes={"task": "procure-tooling"}):
        for i in range(count):
            plan, price = rng.choice(PLANS)
            subscription = ("subscription", f"sub_{rng.getrandbits(40):010x}")
            with fleet.act(trail, "subscription.activate", f"activate_{plan}", resource=subscription) as act:
                act.set_cost(price, rec.agent.currency)
            if i < count - 1:
                yield seconds / (count - 1) * rng.uniform(0.5, 1.5)


def leaked_token(fleet: Fleet, rec: Recording, rng: random.Random, shape: AnomalyShape,
                 seconds: float) -> Iterator[float]:
    """Someone else replays the agent's token from a region and host it has never been used from."""
    agent, token = rec.agent, fleet.token_of(rec.agent)
    rec.token_fingerprint = agent.versions[-1].fingerprint(token.raw)
    home = str(agent.versions[-1].agent["region"])  # every use so far came from the agent's hosts
    stranger = fleet.stranger(agent, rng.choice([r for r in REGIONS if r != home]))
    apis = (f"api.{agent.tenant}.example", f"billing.{agent.tenant}.example", f"admin.{agent.tenant}.example")
    uses = rng.randint(*shape.leak_uses)
    for i in range(uses):
        with fleet.act(stranger, "token.use", "call_api", resource=("api", rng.choice(apis))) as act:
            act.use_token(token.raw, token_id=token.token_id, issuer=token.issuer, scopes=token.scopes)
            if rng.random() < shape.leak_denied:
                act.set_outcome("denied", code=rng.choice(("insufficient_scope", "ip_not_allowed")),
                                message="the token may not be used for this request")
        if i < uses - 1:
            yield seconds / (uses - 1) * rng.uniform(0.5, 1.5)


def cost_creep(fleet: Fleet, rec: Recording, rng: random.Random, shape: AnomalyShape,
               seconds: float) -> Iterator[float]:
    """Extra model calls whose spend rate ramps linearly from 0 to (factor - 1) x the baseline.

    The i-th of k calls lands at ``seconds * sqrt((i + 0.5) / k)``, the inverse of the ramp's
    cumulative share, so call density grows with time; k matches the ramp's total spend.
    """
    trail = rec.agent.versions[-1]
    model = str(trail.agent["model"])
    in_price, out_price, provider_region = MODELS[model]
    mean_cost = float(in_price * 4100 + out_price * 1025)  # the mean tokens llm_price draws
    extra = (shape.creep_factor - 1) * fleet.ledger.usage_rate(rec.agent.id) * seconds / 2
    calls = max(1, round(extra / mean_cost))
    previous = 0.0
    for i in range(calls):
        at = seconds * math.sqrt((i + 0.5) / calls)
        yield at - previous
        previous = at
        cost, tokens_in, tokens_out = llm_price(rng, model)
        # a lone call (no task around it) adds one event per call, so the event rate barely moves
        with fleet.act(trail, "llm.call", "review", resource=("model", model),
                       resource_region=provider_region or str(trail.agent["region"])) as act:
            act.set_cost(cost, "USD", input_tokens=tokens_in, output_tokens=tokens_out)


BEHAVIOURS: dict[Kind, Behaviour] = {"runaway_loop": runaway_loop, "subscription_spree": subscription_spree,
                                     "leaked_token": leaked_token, "cost_creep": cost_creep}
