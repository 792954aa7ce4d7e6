"""A deterministic fleet of simulated agents that records through the real SDK.

``Fleet(trail).run(events)`` creates agents with ``trail.for_agent`` and their
sub-agents with ``Trail.delegate``, then runs seeded tasks (``agent.run`` >
``agent.plan`` > llm/tool calls > delegation > ...) until enough events were
emitted. Work is instant: the time spent is the SDK's, so the demo exercises
exactly the code agents use. The same seed gives the same actions.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agenttrail._exceptions import AuditUnavailableError
from agenttrail.producers.trail import ActionScope, Trail

# -- the catalogue ---------------------------------------------------------------------------------

# tenant, home region (where its data lives), billing currency, people who start agents
TENANTS = (
    ("acme", "eu-west-1", "EUR", ("alice", "bob", "carol")),
    ("globex", "us-east-1", "USD", ("dave", "erin")),
    ("initech", "ap-southeast-2", "USD", ("frank", "grace", "heidi")),
    ("umbrella", "us-east-1", "USD", ("ivan", "judy")),
    ("hooli", "eu-west-1", "EUR", ("mallory", "niaj")),
)
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2")
# model: USD per input token, USD per output token, provider region (None: hosted by the agent)
MODELS = {
    "claude-sonnet-4": (Decimal("0.000003"), Decimal("0.000015"), "us-east-1"),
    "gpt-4.1": (Decimal("0.000002"), Decimal("0.000008"), "us-east-1"),
    "gpt-4.1-mini": (Decimal("0.0000004"), Decimal("0.0000016"), "us-east-1"),
    "llama-3.1-70b": (Decimal("0.00000088"), Decimal("0.00000088"), None),
}
RUNTIMES = ("python-3.12/langgraph-0.4", "node-22/openai-agents-0.1", "python-3.11/crewai-0.120")
# role, principal kind, task, weights of the steps its plan takes. The fail_closed actions
# (subscription, domain, token.issue) wait for the broker's ack, so they stay a small minority.
ROLES = (
    ("onboarding", "human", "onboard-customer", {"account.create": 20, "tool.call": 30,
                                                 "llm.call": 25, "subscription.activate": 3,
                                                 "domain.register": 2}),
    ("billing", "service", "reconcile-invoices", {"tool.call": 40, "llm.call": 20,
                                                  "token.use": 25}),
    ("devops", "human", "ship-release", {"deploy.release": 20, "tool.call": 40, "llm.call": 20,
                                         "token.use": 20}),
    ("support", "human", "resolve-ticket", {"tool.call": 45, "llm.call": 40, "token.use": 10}),
    ("research", "human", "write-brief", {"llm.call": 60, "tool.call": 40}),
    ("growth", "service", "launch-campaign", {"llm.call": 35, "tool.call": 35, "account.create": 10,
                                              "domain.register": 2}),
)
# sub-agent, its model, its version
SUBAGENTS = (("researcher", "gpt-4.1-mini", "0.9.2"), ("coder", "claude-sonnet-4", "1.2.0"),
             ("browser", "gpt-4.1", "0.4.1"), ("verifier", "llama-3.1-70b", "2.0.0"))
# tool, resource kind, resource id ({t}: the tenant), USD per call, touches the tenant's data
TOOLS = (
    ("search_web", "api", "search.example.com", Decimal("0.005"), False),
    ("read_file", "bucket", "{t}-documents", None, True),
    ("sql_query", "database", "{t}-crm", None, True),
    ("send_email", "api", "mail.example.com", Decimal("0.0001"), False),
    ("run_tests", "repo", "{t}/platform", None, False),
    ("http_get", "api", "partner.example.com", None, False),
)
PLANS = (("starter", Decimal("20.00")), ("team", Decimal("99.00")),
         ("enterprise", Decimal("499.00")))
DOMAIN_PRICE = Decimal("12.99")
SERVICES = ("api-gateway", "checkout", "search", "notifications")
SCOPES = ("crm:read", "crm:write", "billing:read", "deploy:write", "mail:send")
TOKEN_USES = 400  # a token is reissued after this many uses
TOKEN_PREFIX = "atk_sim_"  # synthetic raw tokens: only their fingerprints may leave the process
NANO = Decimal("0.000000001")


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

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass
class _Agent:
    id: str
    tenant: str
    home: str
    currency: str
    role: tuple[str, str, str, dict[str, int]]
    versions: list[Trail]  # newest last


@dataclass
class _Token:
    raw: str
    token_id: str
    issuer: str
    scopes: list[str]
    uses: int = 0


@dataclass
class _Run:
    events: int = 0
    per_tenant: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    depth: int = 0
    deepest: int = 0


class Fleet:
    def __init__(self, trail: Trail, *, seed: int = 7, agents: int = 24, tenants: int = 4) -> None:
        if not 1 <= tenants <= len(TENANTS):
            raise ValueError(f"tenants must be between 1 and {len(TENANTS)}, not {tenants}")
        self.trail = trail
        self.rng = random.Random(seed)
        self.agents = [self._make_agent(i, tenants) for i in range(agents)]
        self._subs: dict[tuple[str, str], Trail] = {}
        self._tokens: dict[tuple[str, bool], _Token] = {}
        self._serial = 0
        self._run = _Run()

    def _make_agent(self, i: int, tenants: int) -> _Agent:
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
                                       region=region, principal=principal, model=model,
                                       runtime=runtime) for version in versions]
        return _Agent(agent_id, tenant, home, currency, role, trails)

    # -- running ---------------------------------------------------------------------------------

    def run(self, events: int, on_progress: Callable[[int], None] | None = None) -> FleetReport:
        """Start tasks until at least ``events`` events were emitted; never sleeps."""
        self._run, t0, tasks, sample = _Run(), time.perf_counter(), 0, None
        while self._run.events < events:
            root = self._task(self.rng.choice(self.agents))
            tasks += 1
            if sample is None and self._run.deepest >= 6:
                sample = root
            if on_progress is not None:
                on_progress(self._run.events)
        run = self._run
        return FleetReport(
            events=run.events, per_tenant=dict(sorted(run.per_tenant.items())),
            actions=dict(sorted(run.actions.items())), agents=len(self.agents),
            sub_agents=len({str(t.agent["id"]) for t in self._subs.values()}),
            tenants=sorted({a.tenant for a in self.agents}),
            regions=sorted({str(t.agent["region"]) for a in self.agents for t in a.versions}),
            tasks=tasks, sample_root_event_id=sample, seconds=time.perf_counter() - t0)

    @contextmanager
    def _act(self, trail: Trail, kind: str, name: str, **options: Any) -> Iterator[ActionScope]:
        """``trail.action`` that counts what it emits and how deep the chain is."""
        with ExitStack() as stack:
            try:
                act = stack.enter_context(trail.action(kind, name, **options))
            except AuditUnavailableError:
                # fail_closed is refused while the spool holds events, and the previous fail_closed
                # action's completed event went through it: wait for the sender, then retry.
                if not trail.flush():
                    raise
                act = stack.enter_context(trail.action(kind, name, **options))
            emitted = 2 if act.mode == "fail_closed" else 1  # started + completed
            run = self._run
            run.events += emitted
            run.per_tenant[trail.tenant] += emitted
            run.actions[kind] += 1
            run.depth += 1
            run.deepest = max(run.deepest, run.depth)
            try:
                yield act
            finally:
                run.depth -= 1

    def _task(self, agent: _Agent) -> str:
        """agent.run > agent.plan > steps, maybe a delegation; returns the root's event id."""
        rng, (_, _, task, steps) = self.rng, agent.role
        trail = agent.versions[-1] if rng.random() < 0.7 else agent.versions[0]
        model = str(trail.agent["model"])
        self._run.deepest = 0
        attributes = {"task": f"{task}-{self._next()}"}
        with self._act(trail, "agent.run", task, attributes=attributes) as root:
            with self._act(trail, "agent.plan", "plan"):
                self._llm(trail, model, "plan")
                for kind in rng.choices(list(steps), list(steps.values()), k=rng.randint(1, 4)):
                    self._step(trail, agent, kind)
                if rng.random() < 0.4:
                    self._delegate(trail, agent, nested=rng.random() < 0.5)
            if rng.random() < 0.5:
                self._llm(trail, model, "summarize")
        return root.event_id

    def _delegate(self, trail: Trail, agent: _Agent, *, nested: bool) -> None:
        """A sub-agent runs part of the plan; with ``nested`` it hands part on once more."""
        sub = self._sub(trail, agent.home)
        with self._act(sub, "agent.run", f"subtask for {trail.agent['id']}"):
            self._llm(sub, str(sub.agent["model"]), "reason")
            queue = ("queue", f"{agent.tenant}-jobs")
            with self._act(sub, "tool.call", "run_subtask", resource=queue):
                if nested:
                    deeper = self._sub(sub, agent.home)
                    with self._act(deeper, "agent.run", f"subtask for {sub.agent['id']}"):
                        kinds = ("tool.call", "llm.call", "token.use")
                        for kind in self.rng.choices(kinds, (5, 3, 2), k=2):
                            self._step(deeper, agent, kind)
            if self.rng.random() < 0.5:
                self._step(sub, agent, "tool.call")

    def _sub(self, trail: Trail, home: str) -> Trail:
        name, model, version = self.rng.choice(SUBAGENTS)
        key = (trail.stream_id, name)
        if key not in self._subs:
            region = home if self.rng.random() < 0.2 else None  # None: the delegator's region
            self._subs[key] = trail.delegate(f"{trail.agent['id']}-{name}", version, model=model,
                                             region=region)
        return self._subs[key]

    # -- steps -----------------------------------------------------------------------------------

    def _step(self, trail: Trail, agent: _Agent, kind: str) -> None:
        rng, tenant, serial = self.rng, agent.tenant, self._next()
        try:
            if kind == "llm.call":
                self._llm(trail, str(trail.agent["model"]), "draft")
            elif kind == "tool.call":
                self._tool(trail, agent)
            elif kind == "token.use":
                token = self._token(trail, agent)
                api = ("api", f"api.{tenant}.example")
                with self._act(trail, "token.use", "call_api", resource=api) as act:
                    act.use_token(token.raw, token_id=token.token_id, issuer=token.issuer,
                                  scopes=token.scopes)
                    if rng.random() < 0.04:
                        act.set_outcome("denied", code="insufficient_scope",
                                        message="scope crm:admin is required")
            elif kind == "account.create":
                account = ("account", f"acct_{serial:06d}")
                with self._act(trail, kind, "create_account", resource=account,
                               resource_region=rng.choice(REGIONS), data_region=agent.home):
                    pass
            elif kind == "subscription.activate":
                plan, price = rng.choice(PLANS)
                subscription = ("subscription", f"sub_{serial:06d}")
                with self._act(trail, kind, f"activate_{plan}", resource=subscription) as act:
                    act.set_cost(price, agent.currency)
                    if rng.random() < 0.1:
                        act.set_outcome("failure", code="card_declined",
                                        message="The issuer declined the card")
            elif kind == "domain.register":
                domain = ("domain", f"{tenant}-{serial}.example.com")
                with self._act(trail, kind, "register_domain", resource=domain) as act:
                    act.set_cost(DOMAIN_PRICE, agent.currency)
            elif kind == "deploy.release":
                service = rng.choice(SERVICES)
                with self._act(trail, kind, f"deploy {service}", resource=("service", service),
                               resource_region=rng.choice(REGIONS),
                               attributes={"commit": f"{rng.getrandbits(28):07x}"}):
                    if rng.random() < 0.08:
                        raise DeployFailed(f"canary of {service} failed its health check")
            else:
                raise ValueError(f"unknown step {kind!r}")
        except SimulatedFailure:
            pass  # the SDK recorded the failure; the agent carries on with its plan

    def _llm(self, trail: Trail, model: str, purpose: str) -> None:
        rng = self.rng
        in_price, out_price, provider_region = MODELS[model]
        tokens_in, tokens_out = rng.randint(200, 8000), rng.randint(50, 2000)
        cost = (in_price * tokens_in + out_price * tokens_out).quantize(NANO)
        try:
            with self._act(trail, "llm.call", purpose, resource=("model", model),
                           resource_region=provider_region or str(trail.agent["region"])) as act:
                act.set_cost(cost, "USD", input_tokens=tokens_in, output_tokens=tokens_out)
                if rng.random() < 0.01:
                    raise RateLimited(f"{model}: 429 Too Many Requests")
        except RateLimited:
            pass

    def _tool(self, trail: Trail, agent: _Agent) -> None:
        tool, kind, resource, price, touches_data = self.rng.choice(TOOLS)
        region = agent.home if touches_data else self.rng.choice(REGIONS)
        with self._act(trail, "tool.call", tool, resource=(kind, resource.format(t=agent.tenant)),
                       resource_region=region,
                       data_region=agent.home if touches_data else None) as act:
            if price is not None:
                act.set_cost(price, "USD")
            if self.rng.random() < 0.03:
                raise ToolTimeout(f"{tool} timed out after 30s")

    def _token(self, trail: Trail, agent: _Agent) -> _Token:
        """The agent's credential, or for its sub-agents one down-scoped from it (token exchange);
        issued when missing or worn out, otherwise reused by ``token.use``."""
        delegated = len(trail.actor_chain) > 1
        token = self._tokens.get((agent.id, delegated))
        if token is not None and token.uses < TOKEN_USES:
            token.uses += 1
            return token
        parent = self._tokens.get((agent.id, False)) if delegated else None
        scopes = parent.scopes[:1] if parent else sorted(self.rng.sample(SCOPES, 2))
        token = _Token(f"{TOKEN_PREFIX}{self.rng.getrandbits(192):048x}", f"tok_{self._next():06d}",
                       f"https://idp.{agent.tenant}.example", scopes)
        subject = ("principal", str(trail.agent["id"]))
        with self._act(trail, "token.issue", "issue_token", resource=subject) as act:
            act.use_token(token.raw, token_id=token.token_id, issuer=token.issuer,
                          scopes=token.scopes, parent_token=parent.raw if parent else None)
        self._tokens[(agent.id, delegated)] = token
        return token

    def _next(self) -> int:
        self._serial += 1
        return self._serial
