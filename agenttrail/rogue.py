"""The demo's rogue agent: one of the fleet's agents loops on a paid model, live, and how fast it is caught.

After the fleet has given every agent a history, one support agent (a role that
never buys anything) is given its own daily budget, then resends the same paid
model call up to ``CALLS`` times. The demo watches the store, as an analyst would,
and reports how long after the loop's first call its anomaly flags and its budget
alert were committed, and when the budget's ``on_exceed: suspend`` reached the
SDK guard, which refuses the loop's next call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb

from agenttrail import sql
from agenttrail._exceptions import AgentSuspendedError
from agenttrail.config import Settings
from agenttrail.consumers import store
from agenttrail.producers.control import publish_control
from agenttrail.producers.fleet import Fleet
from agenttrail.producers.trail import Trail
from agenttrail.schemas.control import BudgetSet
from agenttrail.service import Pipeline

CALLS = 1000  # past even a new agent's cold-start ceiling (600 actions a minute)
PRICE = Decimal("0.03")  # USD per call: 30 USD in all
BUDGET = Decimal("20.00")  # USD per day: the loop crosses it
WATCH_S = 30.0


@dataclass
class RogueReport:
    tenant: str
    agent_id: str
    calls: int
    spent: Decimal
    emit_seconds: float
    flag_kinds: list[str] = field(default_factory=list)
    flagged_after_s: float | None = None
    budget_alert_after_s: float | None = None
    suspended_after_s: float | None = None  # the guard refused its next call: its budget suspended it


def run_rogue(fleet: Fleet, trail: Trail, settings: Settings, bootstrap: str, pipeline: Pipeline,
              reader: duckdb.DuckDBPyConnection) -> RogueReport:
    """Loop one of ``fleet``'s agents on a paid model through ``trail``'s emitter, once ``pipeline`` has
    stored everything before; ``reader`` is a cursor of the store ``pipeline`` writes."""
    agent = next(a for a in fleet.agents if a.role[0] == "support" and a.currency == "USD")
    identity = agent.versions[-1]
    rogue = trail.for_agent(tenant=agent.tenant, agent_id=agent.id, agent_version=identity.agent["version"],
                            region=identity.agent["region"], model=identity.agent["model"],
                            runtime=identity.agent["runtime"],
                            principal=f"{identity.principal['kind']}:{identity.principal['id']}")
    stored = pipeline.stats.stored + pipeline.stats.duplicates
    publish_control(settings, bootstrap, agent.tenant, BudgetSet(scope=f"agent:{agent.id}", limit=BUDGET,
                    currency="USD", period="day", on_exceed="suspend"), actor="service:demo", via="demo",
                    reason="the rogue agent's own budget")
    pipeline.wait_until_stored(stored + 1, WATCH_S)
    [(after,)] = reader.execute(store.sql("last_store_seq")).fetchall()
    started = time.time()
    calls, suspended_after_s = 0, None
    while calls < CALLS and suspended_after_s is None:
        calls += 1
        try:
            with rogue.action("llm.call", "retry_forever", resource=("model", str(identity.agent["model"]))) as act:
                act.set_cost(PRICE, "USD", input_tokens=4000, output_tokens=1200)
        except AgentSuspendedError:  # the budget's on_exceed: suspend reached the guard
            suspended_after_s = time.time() - started
    report = RogueReport(agent.tenant, agent.id, calls, PRICE * (calls - (suspended_after_s is not None)),
                         time.time() - started, suspended_after_s=suspended_after_s)
    query = sql.text("rogue_caught")
    params = {"tenant": agent.tenant, "agent": agent.id, "after": after}
    while time.time() - started < WATCH_S and (report.flagged_after_s is None or report.budget_alert_after_s is None):
        [(kinds, alerts)] = reader.execute(query, params).fetchall()
        if kinds and report.flagged_after_s is None:
            report.flagged_after_s, report.flag_kinds = time.time() - started, list(kinds)
        if alerts and report.budget_alert_after_s is None:
            report.budget_alert_after_s = time.time() - started
        time.sleep(0.01)
    [(kinds, _)] = reader.execute(query, params).fetchall()
    report.flag_kinds = list(kinds)
    return report
