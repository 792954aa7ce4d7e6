"""A deterministic fleet of simulated agents that records through the real SDK.

``Fleet(trail).run(events)`` creates agents with ``trail.for_agent`` and their
sub-agents with ``Trail.delegate``, then runs seeded tasks (``agent.run`` >
``agent.plan`` > llm/tool calls > delegation > ...) until enough events were
emitted. Work is instant: the time spent is the SDK's, so the demo exercises
exactly the code agents use. The same seed gives the same actions.

Without ``pace`` events carry the wall clock. With ``pace`` the fleet lives on a seeded
virtual clock (``pacing.VirtualClock``): tasks arrive as a Poisson process of ``pace``
events per virtual second for the whole fleet, every agent acts from one stable source
address in its region, and ``run(..., anomalies=N)`` injects labelled anomalies
(``scenarios``) whose ground truth is listed on the report.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any

from agenttrail._exceptions import AuditUnavailableError, RevokedError
from agenttrail.producers.catalogue import (
    DOMAIN_PRICE,
    MODELS,
    PLANS,
    REGIONS,
    ROLES,
    RUNTIMES,
    SCOPES,
    SERVICES,
    SUBAGENTS,
    TENANTS,
    TOKEN_PREFIX,
    TOKEN_USES,
    TOOLS,
    host_address,
    llm_price,
)
from agenttrail.producers.fleet_types import (
    DeployFailed,
    FleetReport,
    RateLimited,
    SimAgent,
    SimToken,
    SimulatedFailure,
    ToolTimeout,
)
from agenttrail.producers.injection import Injector, Timeline, plan
from agenttrail.producers.ledger import Ledger
from agenttrail.producers.pacing import Throttle, VirtualClock, default_start
from agenttrail.producers.scenarios import AnomalyShape
from agenttrail.producers.trail import ActionScope, Trail


class Fleet:
    """``pace``: virtual events per second for the whole fleet (None: the wall clock, as before).
    ``start``: the virtual clock's first instant (default: chosen at the first run so that it
    ends near the present; a later run continues from where the clock stopped).
    ``track_emits``: list on the report when each event left the SDK."""

    def __init__(self, trail: Trail, *, seed: int = 7, agents: int = 24, tenants: int = 4,
                 pace: float | None = None, start: datetime | None = None, track_emits: bool = False) -> None:
        if not 1 <= tenants <= len(TENANTS):
            raise ValueError(f"tenants must be between 1 and {len(TENANTS)}, not {tenants}")
        if pace is not None and pace <= 0:
            raise ValueError(f"pace must be positive virtual events per second, not {pace}")
        self.trail, self.seed, self.pace, self.track_emits = trail, seed, pace, track_emits
        self.rng = random.Random(seed)
        self.clock: VirtualClock | None = None  # set by the first run with pace
        self._start = start
        self._gaps = random.Random(f"{seed}:gaps")  # its own stream: pacing never changes the actions
        self._sources: dict[str, str] = {}  # trail stream id -> the source address it acts from
        self._hosts: dict[tuple[str, str], str] = {}  # (agent id, region) -> its host's address
        self.agents = [self._make_agent(i, tenants) for i in range(agents)]
        self._subs: dict[tuple[str, str], Trail] = {}
        self._tokens: dict[str, SimToken] = {}  # by agent id, or by stream id for a sub-agent's
        self._serial = 0
        self.ledger = Ledger(None, track_emits=track_emits)  # replaced by each run's

    def _make_agent(self, i: int, tenants: int) -> SimAgent:
        rng, (tenant, home, currency, people) = self.rng, TENANTS[i % tenants]
        role = ROLES[(i // tenants) % len(ROLES)]
        generation = i // (tenants * len(ROLES))
        agent_id = f"{role[0]}-{tenant}" + (f"-{generation + 1}" if generation else "")
        principal = (f"human:{rng.choice(people)}@{tenant}.example" if role[1] == "human"
                     else f"service:{role[0]}-bot.{tenant}")
        region = home if rng.random() < 0.6 else rng.choice(REGIONS)
        model, runtime = rng.choice(list(MODELS)), rng.choice(RUNTIMES)
        major, minor = rng.randint(1, 3), rng.randint(0, 9)
        versions = [f"{major}.{minor}.{rng.randint(0, 5)}"]
        if rng.random() < 0.35:  # mid-rollout: two versions of the agent are live
            versions.append(f"{major}.{minor + 1}.0")
        trails = [self.trail.for_agent(tenant=tenant, agent_id=agent_id, agent_version=version,
                                       region=region, principal=principal, model=model, runtime=runtime,
                                       clock=self._tick if self.pace else None) for version in versions]
        for trail in trails:
            self._sources[trail.stream_id] = self._host(agent_id, region)
        return SimAgent(agent_id, tenant, home, currency, role, trails)

    def _tick(self) -> datetime:
        """The clock the fleet's trails read; bound before the default start is known."""
        if self.clock is None:
            raise RuntimeError("the fleet's virtual clock starts with run(); no action can happen before")
        return self.clock()

    def _host(self, agent_id: str, region: str) -> str:
        """The address of the host ``agent_id`` runs on in ``region``; its sub-agents there share it."""
        if (agent_id, region) not in self._hosts:
            in_region = sum(1 for _, r in self._hosts if r == region)
            self._hosts[(agent_id, region)] = host_address(region, in_region)
        return self._hosts[(agent_id, region)]

    # -- running ---------------------------------------------------------------------------------

    def run(self, events: int, on_progress: Callable[[int], None] | None = None, *, anomalies: int = 0,
            shape: AnomalyShape | None = None, wall_rate: float | None = None) -> FleetReport:
        """Start tasks until ``events`` normal events were emitted and every injected anomaly ended.

        ``anomalies``: instances of each kind in ``scenarios.KINDS``, shaped by ``shape``; they
        need ``pace`` (ValueError without: on the wall clock a window would last milliseconds),
        and ValueError says so when they do not fit in the run. ``wall_rate``: at most this many
        events per wall-clock second (it sleeps); None never sleeps.
        """
        if anomalies and self.pace is None:
            raise ValueError("anomalies need simulated time: create the Fleet with pace=...")
        timeline = self._timeline(events, anomalies, shape or AnomalyShape())
        ledger = self.ledger = Ledger(self.clock, track_emits=self.track_emits)
        throttle, t0, tasks, refused, sample = Throttle(wall_rate), time.perf_counter(), 0, 0, None
        while ledger.normal < events or (timeline and timeline.pending):
            if timeline and timeline.anomaly_first(tasks_done=ledger.normal >= events):
                timeline.step_anomaly()
            else:
                before = ledger.events
                if timeline:
                    timeline.start_task()
                try:
                    root: str | None = self._task(self.rng.choice(self.agents))
                except RevokedError:  # a budget or rule stopped the agent: the guard refused, the trail says so
                    root, refused = None, refused + 1
                tasks += 1
                if sample is None and root is not None and ledger.deepest >= 6:
                    sample = root
                if timeline:
                    timeline.end_task(ledger.events - before)
                if on_progress is not None:
                    on_progress(ledger.events)
            throttle.wait(ledger.events)
        return FleetReport(
            events=ledger.events, per_tenant=dict(sorted(ledger.per_tenant.items())),
            actions=dict(sorted(ledger.actions.items())), agents=len(self.agents),
            sub_agents=len({str(t.agent["id"]) for t in self._subs.values()}),
            tenants=sorted({a.tenant for a in self.agents}),
            regions=sorted({str(t.agent["region"]) for a in self.agents for t in a.versions}),
            tasks=tasks, sample_root_event_id=sample, seconds=time.perf_counter() - t0,
            anomalies=timeline.injector.anomalies if timeline and timeline.injector else [],
            emitted_wall=ledger.emitted_wall, refused=refused)

    def _timeline(self, events: int, anomalies: int, shape: AnomalyShape) -> Timeline | None:
        """The virtual clock (started by the first run) and this run's anomalies; None without pace."""
        if self.pace is None:
            return None
        self.clock = self.clock or VirtualClock(self._start or default_start(events / self.pace))
        injector = None
        if anomalies:
            rng = random.Random(f"{self.seed}:anomalies")  # its own stream, like the gaps'
            planned = plan(rng, anomalies, self.agents, self.clock.last, events / self.pace, shape)
            injector = Injector(self, self.clock, planned, rng, shape)
        return Timeline(self.clock, self.pace, self._gaps, injector)

    # -- what scenarios use (with ``ledger``) ----------------------------------------------------

    def token_of(self, agent: SimAgent) -> SimToken:
        """The agent's own token; issued now as normal traffic if it has none yet."""
        with self.ledger.recording(None):
            return self._tokens.get(agent.id) or self._token(agent.versions[-1], agent)

    def stranger(self, agent: SimAgent, region: str) -> Trail:
        """A trail claiming ``agent``'s identity from ``region`` and a host no fleet trail uses."""
        own = agent.versions[-1]
        principal = f"{own.principal['kind']}:{own.principal['id']}"
        trail = own.for_agent(tenant=agent.tenant, agent_id=agent.id, agent_version=str(own.agent["version"]),
                              region=region, principal=principal, model=own.agent["model"],
                              runtime=own.agent["runtime"])
        self._sources[trail.stream_id] = self._host(f"stranger-{trail.stream_id}", region)
        return trail

    @contextmanager
    def act(self, trail: Trail, kind: str, name: str, **options: Any) -> Iterator[ActionScope]:
        """``trail.action`` from the trail's host address, entered in the run's ledger."""
        options.setdefault("source_address", self._sources[trail.stream_id])
        act: ActionScope | None = None
        try:
            with ExitStack() as stack:
                try:
                    act = stack.enter_context(trail.action(kind, name, **options))
                except AuditUnavailableError:
                    # fail_closed is refused while the spool holds events, and the previous fail_closed
                    # action's completed event went through it: wait for the sender, then retry.
                    if not trail.flush():
                        raise
                    act = stack.enter_context(trail.action(kind, name, **options))
                self.ledger.opened(trail, kind, act)
                yield act
        finally:
            if act is not None:  # its completed event has been handed to the SDK
                self.ledger.closed(trail, kind, act)

    def _task(self, agent: SimAgent) -> str:
        """agent.run > agent.plan > steps, maybe a delegation; returns the root's event id."""
        rng, (_, _, task, steps) = self.rng, agent.role
        trail = agent.versions[-1] if rng.random() < 0.7 else agent.versions[0]
        model = str(trail.agent["model"])
        self.ledger.deepest = 0
        attributes = {"task": f"{task}-{self._next()}"}
        with self.act(trail, "agent.run", task, attributes=attributes) as root:
            with self.act(trail, "agent.plan", "plan"):
                self._llm(trail, model, "plan")
                for kind in rng.choices(list(steps), list(steps.values()), k=rng.randint(1, 4)):
                    self._step(trail, agent, kind)
                if rng.random() < 0.4:
                    self._delegate(trail, agent, nested=rng.random() < 0.5)
            if rng.random() < 0.5:
                self._llm(trail, model, "summarize")
        return root.event_id

    def _delegate(self, trail: Trail, agent: SimAgent, *, nested: bool) -> None:
        """A sub-agent runs part of the plan; with ``nested`` it hands part on once more."""
        sub = self._sub(trail, agent)
        with self.act(sub, "agent.run", f"subtask for {trail.agent['id']}"):
            self._llm(sub, str(sub.agent["model"]), "reason")
            queue = ("queue", f"{agent.tenant}-jobs")
            with self.act(sub, "tool.call", "run_subtask", resource=queue):
                if nested:
                    deeper = self._sub(sub, agent)
                    with self.act(deeper, "agent.run", f"subtask for {sub.agent['id']}"):
                        kinds = ("tool.call", "llm.call", "token.use")
                        for kind in self.rng.choices(kinds, (5, 3, 2), k=2):
                            self._step(deeper, agent, kind)
            if self.rng.random() < 0.5:
                self._step(sub, agent, "tool.call")

    def _sub(self, trail: Trail, agent: SimAgent) -> Trail:
        """The delegator's sub-agent, on the agent's host in its region (in the tenant's home region
        one in five times, on the agent's host there)."""
        name, model, version = self.rng.choice(SUBAGENTS)
        key = (trail.stream_id, name)
        if key not in self._subs:
            region = agent.home if self.rng.random() < 0.2 else None  # None: the delegator's region
            sub = trail.delegate(f"{trail.agent['id']}-{name}", version, model=model, region=region)
            self._sources[sub.stream_id] = self._host(agent.id, str(sub.agent["region"]))
            self._subs[key] = sub
        return self._subs[key]

    # -- steps -----------------------------------------------------------------------------------

    def _step(self, trail: Trail, agent: SimAgent, kind: str) -> None:
        rng, tenant, serial = self.rng, agent.tenant, self._next()
        try:
            if kind == "llm.call":
                self._llm(trail, str(trail.agent["model"]), "draft")
            elif kind == "tool.call":
                self._tool(trail, agent)
            elif kind == "token.use":
                token = self._token(trail, agent)
                api = ("api", f"api.{tenant}.example")
                with self.act(trail, "token.use", "call_api", resource=api) as act:
                    act.use_token(token.raw, token_id=token.token_id, issuer=token.issuer,
                                  scopes=token.scopes)
                    if rng.random() < 0.04:
                        act.set_outcome("denied", code="insufficient_scope",
                                        message="scope crm:admin is required")
            elif kind == "account.create":
                account = ("account", f"acct_{serial:06d}")
                with self.act(trail, kind, "create_account", resource=account,
                               resource_region=rng.choice(REGIONS), data_region=agent.home):
                    pass
            elif kind == "subscription.activate":
                plan, price = rng.choice(PLANS)
                subscription = ("subscription", f"sub_{serial:06d}")
                with self.act(trail, kind, f"activate_{plan}", resource=subscription) as act:
                    act.set_cost(price, agent.currency)
                    if rng.random() < 0.1:
                        act.set_outcome("failure", code="card_declined",
                                        message="The issuer declined the card")
            elif kind == "domain.register":
                domain = ("domain", f"{tenant}-{serial}.example.com")
                with self.act(trail, kind, "register_domain", resource=domain) as act:
                    act.set_cost(DOMAIN_PRICE, agent.currency)
            elif kind == "deploy.release":
                service = rng.choice(SERVICES)
                with self.act(trail, kind, f"deploy {service}", resource=("service", service),
                               resource_region=rng.choice(REGIONS),
                               attributes={"commit": f"{rng.getrandbits(28):07x}"}):
                    if rng.random() < 0.08:
                        raise DeployFailed(f"canary of {service} failed its health check")
            else:
                raise ValueError(f"unknown step {kind!r}")
        except SimulatedFailure:
            pass  # the SDK recorded the failure; the agent carries on with its plan

    def _llm(self, trail: Trail, model: str, purpose: str) -> None:
        rng, provider_region = self.rng, MODELS[model][2]
        cost, tokens_in, tokens_out = llm_price(rng, model)
        try:
            with self.act(trail, "llm.call", purpose, resource=("model", model),
                           resource_region=provider_region or str(trail.agent["region"])) as act:
                act.set_cost(cost, "USD", input_tokens=tokens_in, output_tokens=tokens_out)
                if rng.random() < 0.01:
                    raise RateLimited(f"{model}: 429 Too Many Requests")
        except RateLimited:
            pass

    def _tool(self, trail: Trail, agent: SimAgent) -> None:
        tool, kind, resource, price, touches_data = self.rng.choice(TOOLS)
        region = agent.home if touches_data else self.rng.choice(REGIONS)
        with self.act(trail, "tool.call", tool, resource=(kind, resource.format(t=agent.tenant)),
                       resource_region=region,
                       data_region=agent.home if touches_data else None) as act:
            if price is not None:
                act.set_cost(price, "USD")
            if self.rng.random() < 0.03:
                raise ToolTimeout(f"{tool} timed out after 30s")

    def _token(self, trail: Trail, agent: SimAgent) -> SimToken:
        """The agent's credential, or for each sub-agent stream one down-scoped from it (token
        exchange: a token shared by sub-agents in different regions would look like one roaming
        between them); issued when missing or worn out, otherwise reused by ``token.use``."""
        delegated = len(trail.actor_chain) > 1
        key = trail.stream_id if delegated else agent.id
        token = self._tokens.get(key)
        if token is not None and token.uses < TOKEN_USES:
            token.uses += 1
            return token
        parent = self._tokens.get(agent.id) if delegated else None
        scopes = parent.scopes[:1] if parent else sorted(self.rng.sample(SCOPES, 2))
        token = SimToken(f"{TOKEN_PREFIX}{self.rng.getrandbits(192):048x}", f"tok_{self._next():06d}",
                       f"https://idp.{agent.tenant}.example", scopes)
        subject = ("principal", str(trail.agent["id"]))
        with self.act(trail, "token.issue", "issue_token", resource=subject) as act:
            act.use_token(token.raw, token_id=token.token_id, issuer=token.issuer,
                          scopes=token.scopes, parent_token=parent.raw if parent else None)
        self._tokens[key] = token
        return token

    def _next(self) -> int:
        self._serial += 1
        return self._serial
