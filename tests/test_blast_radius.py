"""A token's blast radius: exactly what its lineage did since exposure, and what was known as of any moment.

The fleet simulator's leaked-token scenario plays through the real SDK and broker into
a real store, so its ground truth (every event the stranger emitted) is what the report
must list, no more and no less. The time-travel questions are asked of a store written
in a chosen order (``tests/chain_events.py``), so each moment sits between known events.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from agenttrail._exceptions import EventNotFoundError
from agenttrail.blast_radius import blast_radius
from agenttrail.config import Settings
from agenttrail.consumers.store import open_store
from agenttrail.producers.control import publish_control
from agenttrail.producers.fleet import Fleet
from agenttrail.producers.injection import Injector, Planned
from agenttrail.producers.scenarios import AnomalyShape, InjectedAnomaly, eligible
from agenttrail.schemas.control import BudgetSet, LeakReported
from tests.chain_events import T0, event, project, store_control, store_events
from tests.fixtures import TrailFactory, materialize
from tests.test_enforcement import CHILD, GRANDCHILD, ROOT, issue

SENSITIVE = ["subscription.activate", "domain.register", "token.issue", "deploy.release"]


def leaked_after_normal_traffic(trail_factory: TrailFactory) -> tuple[InjectedAnomaly, int]:
    """A paced fleet's normal traffic, then the scenario's stranger replaying one agent's token."""
    trail = trail_factory(agent_id="fleet-driver")
    fleet = Fleet(trail, seed=11, agents=8, tenants=2, pace=20.0)
    fleet.run(1_500)
    assert fleet.clock is not None
    agent = next(a for a in fleet.agents if eligible("leaked_token", a.role[3]))
    fleet.token_of(agent)  # the agent holds its token before the leak (issued now if it had none)
    start = fleet.clock.last + timedelta(minutes=1)
    injector = Injector(fleet, fleet.clock, [Planned("leaked_token", agent, start, 180.0)], random.Random(3),
                        AnomalyShape())
    while injector.next_due is not None:
        injector.step()
    [anomaly] = injector.anomalies
    assert trail.flush(30)
    return anomaly, trail.emitter.stats.acked


def test_the_blast_radius_of_the_simulators_leaked_token_lists_exactly_the_injected_actions(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    anomaly, emitted = leaked_after_normal_traffic(trail_factory)
    assert anomaly.token_fingerprint is not None
    assert materialize(settings, store, until=emitted, timeout=120) == emitted
    publish_control(settings, settings.bootstrap or "", anomaly.tenant, LeakReported(
        fingerprint=anomaly.token_fingerprint, source_url="https://gist.example/leak", exposed_at=anomaly.start,
        reporter="human:sec-oncall", label="true_positive"), actor="human:sec-oncall", via="test")
    materialize(settings, store, until=1, table="leak_reports")

    report = blast_radius(store, anomaly.token_fingerprint, sensitive_actions=SENSITIVE)
    assert (report.since, report.exposure) == (anomaly.start, "leak report"), "the window starts at the exposure"
    timeline = report.timeline.to_pylist()
    assert sorted(row["event_id"] for row in timeline) == sorted(anomaly.event_ids), "exactly the injected actions"
    assert report.summary["events"] == len(anomaly.event_ids)
    assert (report.summary["first_use"], report.summary["last_use"]) == (anomaly.start, anomaly.end)
    denied = store.execute("SELECT count(*) FROM events WHERE outcome = 'denied' AND list_contains(?, event_id)",
                           [list(anomaly.event_ids)]).fetchall()[0][0]
    assert report.sections["actions"].to_pylist() == [{
        "action_type": "token.use", "events": len(anomaly.event_ids), "succeeded": len(anomaly.event_ids) - denied,
        "failed": 0, "denied": denied, "first": anomaly.start, "last": anomaly.end}]
    [place] = report.sections["places"].to_pylist()
    before = store.execute("SELECT count(*) FROM events WHERE source_address = ? AND occurred_at < ?",
                           [place["source_address"], anomaly.start]).fetchall()[0][0]
    assert before == 0, "the stranger's address, never seen before the exposure"
    assert {row["principal_id"] for row in report.sections["principals"].to_pylist()} == {
        principal for (principal,) in store.execute(
            "SELECT DISTINCT principal_id FROM events WHERE list_contains(?, event_id)",
            [list(anomaly.event_ids)]).fetchall()}
    assert {t["status"] for t in report.lineage.to_pylist()} == {"revoked"}, "the report revoked the whole lineage"

    whole = blast_radius(store, anomaly.token_fingerprint, since=anomaly.start - timedelta(days=1))
    assert whole.summary["events"] > report.summary["events"], "the agent's own uses before the exposure are out"


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return open_store(tmp_path / "as-of.duckdb")


def charge(event_id: str, token: str, amount: str) -> dict[str, object]:
    return event(event_id, agent_id="researcher", action_type="llm.call", action_name="draft", token_fingerprint=token,
                 cost_amount=Decimal(amount), cost_currency="USD")


def test_as_of_answers_which_tokens_were_active_what_the_lineage_was_and_what_budget_remained(con):
    store_control(con, "acme", BudgetSet(scope="agent:researcher", limit=Decimal("10"), currency="USD",
                                         period="total"))
    store_events(con, [issue("e1", ROOT, None, "planner"), issue("e2", CHILD, ROOT, "researcher"),
                       charge("c1", CHILD, "4.00")])  # seqs 2-4, received T0 + 2..4 s
    store_control(con, "acme", LeakReported(fingerprint=ROOT, source_url="https://gist.example/x",
                                            reporter="human:sec-oncall", label="true_positive"))  # seq 5
    store_events(con, [charge("c2", CHILD, "3.00"), issue("e3", GRANDCHILD, CHILD, "researcher")])  # seqs 6-7
    project(con)

    def at(seconds: int) -> dict[str, object]:
        report = blast_radius(con, ROOT, as_of=T0 + timedelta(seconds=seconds), sensitive_actions=SENSITIVE)
        return {"tokens": {row["fingerprint"]: row["status"] for row in report.lineage.to_pylist()},
                "remaining": [row["remaining"] for row in report.sections["budgets"].to_pylist()],
                "events": report.summary["events"], "after_revocation": report.summary["used_after_revocation"]}

    assert at(4) == {"tokens": {ROOT: None, CHILD: None}, "remaining": [Decimal("6")], "events": 3,
                     "after_revocation": 0}, "before the leak report: both active"
    assert at(5) == {"tokens": {ROOT: "revoked", CHILD: "revoked"}, "remaining": [Decimal("6")], "events": 3,
                     "after_revocation": 0}, "the report revoked the tree; nothing was used since"
    assert at(7) == {"tokens": {ROOT: "revoked", CHILD: "revoked", GRANDCHILD: "revoked"},
                     "remaining": [Decimal("3")], "events": 5, "after_revocation": 2}, "today's answer"
    with pytest.raises(EventNotFoundError, match="No stored event carried token"):
        blast_radius(con, ROOT, as_of=T0 + timedelta(seconds=1))
    with pytest.raises(EventNotFoundError):
        blast_radius(con, ROOT, tenant="globex")
