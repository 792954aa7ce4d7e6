"""Budgets on the event stream: exact spend, thresholds that fire once, forecasts, nesting, defaults."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from agenttrail import AgentAction, AgentSuspendedError, Settings, Trail
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import check_rebuild
from agenttrail.consumers.store import open_store
from agenttrail.producers.control import publish_control
from agenttrail.producers.ids import new_event_id, new_span_id, new_trace_id
from agenttrail.schemas.control import BudgetSet
from tests.fixtures import SettingsFactory, TrailFactory, cli_as, materialize, published_alerts


def set_budget(settings: Settings, tenant: str = "acme", **fields: Any) -> None:
    publish_control(settings, settings.bootstrap or "", tenant, BudgetSet(**fields), actor="human:carol",
                    via="test", reason="cap it")


def charge(trail: Trail, amount: str, currency: str = "USD", *, occurred_at: datetime | None = None) -> str:
    """One llm.call costing ``amount``; with ``occurred_at``, a fully built event from that time."""
    if occurred_at is None:
        with trail.action("llm.call", "draft") as act:
            act.set_cost(amount, currency, input_tokens=10, output_tokens=5)
        return act.event_id
    event = AgentAction(
        event_id=new_event_id(), occurred_at=occurred_at, tenant=trail.tenant, agent=trail.agent,
        principal=trail.principal, trace_id=new_trace_id(), span_id=new_span_id(),
        action={"type": "llm.call", "name": "draft"}, cost={"amount": amount, "currency": currency},
        integrity={"stream_id": trail.stream_id, "seq": 0},
    )
    trail.emit(event)
    return event.event_id


def alerts(store: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    """The threshold alerts (forecasts depend on the time of day and month a test runs at)."""
    return store.execute(
        "SELECT kind, scope, threshold_pct, spent, action, severity FROM alerts WHERE kind = 'budget.threshold' "
        "ORDER BY store_seq, threshold_pct"
    ).fetchall()


def test_each_threshold_fires_once_on_the_charge_that_crossed_it(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    set_budget(settings, scope="agent:agent-1", limit="1.00", currency="USD", period="total",
               thresholds=[50, 80, 100], on_exceed="suspend")
    assert materialize(settings, store, until=1, table="control_events") == 1
    ids = [charge(trail, "0.30") for _ in range(5)]
    assert trail.flush(10)
    assert materialize(settings, store, until=5) == 5
    assert alerts(store) == [
        ("budget.threshold", "agent:agent-1", 50, Decimal("0.6"), "alert", "warning"),
        ("budget.threshold", "agent:agent-1", 80, Decimal("0.9"), "alert", "warning"),
        ("budget.threshold", "agent:agent-1", 100, Decimal("1.2"), "suspend", "critical"),
    ]
    evidence = store.execute("SELECT evidence_event_ids[1] FROM alerts ORDER BY threshold_pct").fetchall()
    assert [e[0] for e in evidence] == [ids[1], ids[2], ids[3]]
    top = store.execute("SELECT top_agents, summary FROM alerts WHERE threshold_pct = 100").fetchone()
    assert top is not None and top[0] == [{"agent_id": "agent-1", "spent": Decimal("1.2")}]
    assert top[1] == "Budget agent:agent-1 reached 100% of its 1.00 USD limit in total: 1.20 spent."

    # on_exceed=suspend is enforced: the suspension reaches the SDK guard, which refuses the next charge
    # (and records the attempt as denied); no threshold fires again.
    deadline = time.monotonic() + 30
    while trail.guard is not None and trail.guard.suspended("agent-1") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(AgentSuspendedError, match="Budget agent:agent-1 reached 100%"):
        charge(trail, "5.00")
    assert trail.flush(10)
    assert materialize(settings, store, until=6) == 6
    assert len(alerts(store)) == 3, "no alert storm: a crossed threshold does not fire again"
    assert store.execute("SELECT subject, decided_by FROM enforcement_in_force").fetchall() == [
        ("agent-1", "budget:agent:agent-1")]


def test_alerts_do_not_depend_on_batch_boundaries(settings_factory: SettingsFactory, trail_factory: TrailFactory,
                                                   tmp_path: Any) -> None:
    settings = settings_factory()
    set_budget(settings, scope="tenant:acme", limit="2.00", currency="USD", period="day", thresholds=[25, 50, 75, 100])
    stores = {}
    for batch_size in (1, 7, 5000):
        local = settings.model_copy(update={"db": tmp_path / f"b{batch_size}.duckdb", "batch_max_records": batch_size})
        stores[batch_size] = (local, open_store(local.db))
        assert materialize(local, stores[batch_size][1], until=1, table="control_events") == 1
    trail = trail_factory(settings_=settings)
    for i in range(40):
        charge(trail, f"0.0{i % 9 + 1}")
    assert trail.flush(10)
    tables = []
    for local, con in stores.values():
        assert materialize(local, con, until=40) == 40
        tables.append(con.execute("SELECT alert_id, store_seq, spent FROM alerts WHERE kind = 'budget.threshold' "
                                  "ORDER BY alert_id").fetchall())
        con.close()
    assert tables[0] == tables[1] == tables[2] and len(tables[0]) == 3  # 1.90 spent: 25, 50 and 75%


def test_agent_spend_counts_toward_its_principal_and_tenant_budgets(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    set_budget(settings, scope="principal:alice", limit="1.00", currency="USD", period="month", thresholds=[100])
    set_budget(settings, scope="tenant:acme", limit="1.00", currency="USD", period="month", thresholds=[100])
    assert materialize(settings, store, until=2, table="control_events") == 2
    worker = trail.delegate("sub-agent", "1.0")
    charge(trail, "0.60")
    charge(worker, "0.60")
    charge(trail, "9.00", "EUR")  # another currency never counts against a USD budget
    assert trail.flush(10)
    assert materialize(settings, store, until=3) == 3
    fired = {row[1]: row for row in alerts(store)}
    assert set(fired) == {"principal:alice", "tenant:acme"}
    assert fired["tenant:acme"][3] == Decimal("1.2")


def test_the_default_agent_budget_caps_new_agents_but_yields_to_their_own(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    set_budget(settings, scope="agent:*", limit="0.50", currency="USD", period="day", thresholds=[100])
    set_budget(settings, scope="agent:trusted", limit="100.00", currency="USD", period="day", thresholds=[100])
    assert materialize(settings, store, until=2, table="control_events") == 2
    newcomer = trail_factory(agent_id="newcomer")
    trusted = newcomer.for_agent(tenant="acme", agent_id="trusted", agent_version="1", region="eu-west-1",
                                 principal="human:alice")
    charge(newcomer, "0.60")
    charge(trusted, "0.60")
    assert newcomer.flush(10)
    assert materialize(settings, store, until=2) == 2
    assert [(row[1], row[2]) for row in alerts(store)] == [("agent:newcomer", 100)]


def test_forecast_fires_once_when_the_period_end_projection_reaches_the_limit(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    set_budget(settings, scope="tenant:acme", limit="10.00", currency="USD", period="month", thresholds=[100])
    assert materialize(settings, store, until=1, table="control_events") == 1
    month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=40)
    month = month.replace(day=1)
    charge(trail, "1.00", occurred_at=month + timedelta(hours=1))  # too early in the period to judge
    charge(trail, "3.00", occurred_at=month + timedelta(days=10))  # 4.00 after a third of the month: on course for 12
    charge(trail, "0.10", occurred_at=month + timedelta(days=11))
    assert trail.flush(10)
    assert materialize(settings, store, until=3) == 3
    rows = store.execute("SELECT kind, spent, projected > limit_amount, summary FROM alerts").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("budget.forecast", Decimal("4"), True)]
    assert "is on course to spend" in rows[0][3]
    late = store.execute("SELECT count(*) FROM late_spend").fetchone()
    assert late == (3,), "spend for days long closed is counted and flagged"
    spend = store.execute("SELECT sum(amount) FROM spend_daily").fetchone()
    assert spend == (Decimal("4.1"),)


def test_budget_cli_sets_lists_and_shows_remaining_with_other_currencies_unconverted(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    agenttrail = cli_as(settings, "carol")

    done = agenttrail("budget", "set", "--tenant", "acme", "--scope", "agent:agent-1", "--limit", "2.50",
                      "--currency", "USD", "--period", "month", "--on-exceed", "suspend")
    assert done.returncode == 0, done.stderr
    refused = agenttrail("budget", "set", "--scope", "agent:agent-1", "--limit", "1", "--currency", "USD",
                         "--period", "day")
    assert refused.returncode == 2 and "needs the tenant" in refused.stderr
    refused = agenttrail("budget", "set", "--scope", "tenant:acme", "--limit", "0.1e", "--currency", "USD",
                         "--period", "day")
    assert refused.returncode == 2 and "limit" in refused.stderr and "Traceback" not in refused.stderr
    assert materialize(settings, store, until=1, table="control_events") == 1
    charge(trail, "1.25")
    charge(trail, "3.00", "EUR")
    assert trail.flush(10)
    assert materialize(settings, store, until=2) == 2
    store.close()

    listed = json.loads(agenttrail("budget", "list", "--json").stdout)
    assert [(b["budget_id"], b["limit"], b["on_exceed"], b["set_by"]) for b in listed] == [
        ("agent:agent-1", "2.500000000", "suspend", "human:carol")]
    shown = agenttrail("budget", "show", "--tenant", "acme", "--scope", "agent:agent-1", "--json")
    [status] = json.loads(shown.stdout)
    assert (status["spent"], status["remaining"], status["unconverted"]) == (
        "1.250000000", "1.250000000", "EUR 3.000000000")
    before = agenttrail("budget", "show", "--tenant", "acme", "--scope", "agent:agent-1", "--as-of",
                        "2000-01-01", "--json")
    assert json.loads(before.stdout) == [], "no budget was in force then"
    assert "budget.threshold" in {a["kind"] for a in json.loads(agenttrail("alerts", "--json").stdout)}


def test_alerts_are_published_once_with_a_stable_delivery_id_even_after_a_restart(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    set_budget(settings, scope="tenant:acme", limit="1.00", currency="USD", period="total", thresholds=[100],
               on_exceed="revoke")
    assert materialize(settings, store, until=1, table="control_events") == 1
    charge(trail, "0.70")
    charge(trail, "0.70")
    assert trail.flush(10)
    assert materialize(settings, store, until=2) == 2
    charge(trail, "0.70")
    assert trail.flush(10)
    assert materialize(settings, store, until=3) == 3  # a second materializer run: the restart
    [published] = published_alerts(settings, expected=1)
    alert = published["alert"]
    assert (alert["kind"], alert["severity"], alert["action"], alert["scope"]) == (
        "budget.threshold", "critical", "revoke", "tenant:acme")
    assert published["headers"]["delivery_id"].decode() == alert["alert_id"]
    assert alert["details"]["spent"] == "1.400000000"
    assert json.loads(alert["details"]["top_agents"]) == [{"agent_id": "agent-1", "spent": "1.400000000"}]


def test_a_rebuild_from_stored_events_and_control_events_equals_the_live_budget_tables(
    trail: Trail, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    set_budget(settings, scope="tenant:acme", limit="1.00", currency="USD", period="day", thresholds=[50, 100])
    assert materialize(settings, store, until=1, table="control_events") == 1
    for amount in ("0.30", "0.30", "0.30"):
        charge(trail, amount)
    assert trail.flush(10)
    assert materialize(settings, store, until=3) == 3
    set_budget(settings, scope="tenant:acme", limit="0.50", currency="USD", period="day", thresholds=[100])
    assert materialize(settings, store, until=2, table="control_events") == 2
    charge(trail, "0.30")
    assert trail.flush(10)
    assert materialize(settings, store, until=4) == 4
    fired = [(row[2], row[3]) for row in alerts(store)]
    assert fired == [(50, Decimal("0.6")), (100, Decimal("1.2"))], "a lowered limit fires on its first charge"
    for batch_size in (1, 3, 1000):
        assert check_rebuild(store, default_projections(settings), batch_size=batch_size) == []
