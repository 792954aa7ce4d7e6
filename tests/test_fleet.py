"""The fleet simulator, end to end: real SDK, real embedded broker, real materializer, no mocks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.broker import EmbeddedBroker
from agenttrail.config import Settings, load_settings
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.store import open_store
from agenttrail.kafka import ensure_topics
from agenttrail.producers.catalogue import ADDRESS_RANGES, DOMAIN_PRICE, MODELS, PLANS, TOKEN_PREFIX
from agenttrail.producers.control import publish_control
from agenttrail.producers.fleet import Fleet, FleetReport
from agenttrail.producers.trail import Trail, connect
from agenttrail.schemas.control import AgentSuspended
from tests.fixtures import materialize, wait_for

EVENTS = 2000
ACTION_TYPES = {
    "agent.run", "agent.plan", "account.create", "subscription.activate", "domain.register",
    "token.issue", "token.use", "tool.call", "llm.call", "deploy.release",
}
FAIL_CLOSED_TYPES = ("subscription.activate", "domain.register", "token.issue")
DEPTHS = """
    WITH RECURSIVE chain(root, event_id, depth) AS (
        SELECT event_id, event_id, 1 FROM events
        WHERE parent_event_id IS NULL AND phase = 'completed'
        UNION ALL
        SELECT chain.root, e.event_id, chain.depth + 1
        FROM events e JOIN chain ON e.parent_event_id = chain.event_id
        WHERE e.phase = 'completed'
    )
"""


def _settings(tmp: Path, bootstrap: str, **overrides: Any) -> Settings:
    return load_settings(bootstrap=bootstrap, db=tmp / "t.duckdb", spool_dir=tmp / "spool",
                         fingerprint_key="test-key-" + "x" * 24, **overrides)


def _driver(settings: Settings) -> Trail:
    return connect(tenant="acme", agent_id="fleet-driver", agent_version="1.0.0",
                   region="eu-west-1", principal="service:fleet", settings=settings)


@contextmanager
def _fresh_driver(broker: EmbeddedBroker, tmp_path: Path, prefix: str) -> Iterator[Trail]:
    """A driver trail on its own topics, flushed and closed after the block."""
    settings = _settings(tmp_path, broker.bootstrap, topic_prefix=prefix)
    ensure_topics(settings, broker.bootstrap)
    trail = _driver(settings)
    try:
        yield trail
        assert trail.flush()
    finally:
        trail.close()


def _one(con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None) -> Any:
    row = con.execute(query, params or []).fetchone()
    assert row is not None
    return row[0]


def _set(con: duckdb.DuckDBPyConnection, query: str) -> set[Any]:
    return {row[0] for row in con.execute(query).fetchall()}


def _counts(con: duckdb.DuckDBPyConnection, query: str) -> dict[Any, int]:
    """``query`` selects (key, count) pairs."""
    return dict(sorted(con.execute(query).fetchall()))


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture(scope="module")
def materialized(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[FleetReport, list[int], duckdb.DuckDBPyConnection]]:
    """A seed-7 fleet run of EVENTS events, emitted through the SDK and materialized into DuckDB."""
    settings = _settings(tmp_path_factory.mktemp("fleet"), broker.bootstrap)
    ensure_topics(settings, broker.bootstrap)
    progress: list[int] = []
    trail = _driver(settings)
    try:
        report = Fleet(trail).run(EVENTS, on_progress=progress.append)
        assert trail.flush(), "the emitter did not deliver everything to the broker"
    finally:
        trail.close()
    con = open_store(settings.db)
    materializer = Materializer(settings, broker.bootstrap, con)
    materializer.start()
    try:
        for _ in range(200):
            if _one(con, "SELECT count(*) FROM events") >= report.events:
                break
            materializer.step()
    finally:
        materializer.close()
    yield report, progress, con
    con.close()


def test_every_emitted_event_is_stored_and_none_quarantined(materialized: Any) -> None:
    report, progress, con = materialized
    assert report.events >= EVENTS
    assert _one(con, "SELECT count(*) FROM events") == report.events
    assert _one(con, "SELECT count(*) FROM quarantine") == 0
    assert _counts(con, "SELECT tenant, count(*) FROM events GROUP BY 1") == report.per_tenant
    assert _counts(con, "SELECT action_type, count(*) FROM events WHERE phase = 'completed' "
                        "GROUP BY 1") == report.actions
    assert progress == sorted(progress) and len(progress) == report.tasks
    assert progress[-1] == report.events


def test_fleet_spans_twenty_agents_three_tenants_and_three_regions(materialized: Any) -> None:
    report, _, con = materialized
    top_agents = "FROM events WHERE len(actor_chain) = 1"
    assert _one(con, f"SELECT count(DISTINCT agent_id) {top_agents}") >= 20
    assert report.agents >= 20 and len(report.tenants) >= 3 and len(report.regions) >= 3
    assert _one(con, "SELECT count(DISTINCT tenant) FROM events") >= 3
    assert _one(con, "SELECT count(DISTINCT agent_region) FROM events") >= 3
    assert set(report.regions) == _set(con, "SELECT DISTINCT agent_region FROM events")
    versions = _counts(con, f"SELECT agent_id, count(DISTINCT agent_version) {top_agents} "
                            "GROUP BY 1")
    assert max(versions.values()) == 2, "no agent shows two versions (provenance)"
    assert _set(con, f"SELECT DISTINCT principal_kind {top_agents}") == {"human", "service"}
    assert _one(con, "SELECT count(*) FROM events WHERE agent_model IS NULL "
                     "OR agent_runtime IS NULL") == 0
    assert _one(con, "SELECT count(DISTINCT agent_model) FROM events") >= 3


def test_every_catalogued_action_type_is_recorded(materialized: Any) -> None:
    _, _, con = materialized
    assert _set(con, "SELECT DISTINCT action_type FROM events") == ACTION_TYPES


def test_fail_closed_actions_emit_a_started_and_a_completed_event(materialized: Any) -> None:
    report, _, con = materialized
    started = _counts(con, "SELECT action_type, count(*) FROM events WHERE phase = 'started' "
                           "GROUP BY 1")
    assert started == {t: report.actions[t] for t in FAIL_CLOSED_TYPES}
    fail_closed = sum(report.actions[t] for t in FAIL_CLOSED_TYPES)
    assert fail_closed < 0.05 * sum(report.actions.values()), "fail_closed must stay a minority"


def test_chains_nest_at_least_five_deep(materialized: Any) -> None:
    report, _, con = materialized
    assert _one(con, DEPTHS + "SELECT max(depth) FROM chain") >= 5
    root = report.sample_root_event_id
    assert root is not None
    assert _one(con, DEPTHS + "SELECT max(depth) FROM chain WHERE root = ?", [root]) == 6
    assert _one(con, "SELECT action_type FROM events WHERE event_id = ?", [root]) == "agent.run"


def test_delegated_events_carry_the_actor_chain(materialized: Any) -> None:
    _, _, con = materialized
    assert _one(con, "SELECT count(*) FROM events WHERE len(actor_chain) > 1") > 0
    assert _one(con, "SELECT max(len(actor_chain)) FROM events") >= 3
    # A sub-agent's run hangs under its delegator's action and names the delegator second.
    mismatched = _one(con, """
        SELECT count(*) FROM events child
        JOIN events parent ON child.parent_event_id = parent.event_id
        WHERE child.action_type = 'agent.run' AND len(child.actor_chain) > 1
          AND (child.actor_chain[2].id <> parent.agent_id
               OR child.principal_id <> parent.principal_id)
    """)
    assert mismatched == 0
    assert _one(con, "SELECT count(*) FROM events WHERE actor_chain[1].id <> agent_id") == 0


def test_costs_are_exact_decimals(materialized: Any) -> None:
    _, _, con = materialized
    llm = con.execute("""SELECT resource_id, input_tokens, output_tokens, cost_amount, cost_currency
                         FROM events WHERE action_type = 'llm.call'""").fetchall()
    assert llm
    for model, tokens_in, tokens_out, amount, currency in llm:
        in_price, out_price, _ = MODELS[model]
        assert isinstance(amount, Decimal)
        assert amount == in_price * tokens_in + out_price * tokens_out
        assert currency == "USD"
    completed = "FROM events WHERE phase = 'completed' AND action_type = "
    subscriptions = _set(con, f"SELECT cost_amount {completed} 'subscription.activate'")
    assert subscriptions and subscriptions <= {price for _, price in PLANS}
    assert _set(con, f"SELECT cost_amount {completed} 'domain.register'") == {DOMAIN_PRICE}
    currencies = _counts(con, "SELECT cost_currency, count(*) FROM events "
                              "WHERE cost_amount IS NOT NULL GROUP BY 1")
    assert set(currencies) == {"USD", "EUR"} and currencies["USD"] > currencies["EUR"]
    assert _one(con, "SELECT count(*) FROM events WHERE phase = 'started' "
                     "AND cost_amount IS NOT NULL") == 0


def test_raw_tokens_never_leave_the_process(materialized: Any) -> None:
    _, _, con = materialized
    marker = TOKEN_PREFIX.encode()
    for raw, attributes, error, resource in con.execute(
            "SELECT raw, attributes::VARCHAR, error_message, resource_id FROM events").fetchall():
        assert marker not in raw
        assert TOKEN_PREFIX not in " ".join(str(v) for v in (attributes, error, resource))
    issued = _set(con, "SELECT token_fingerprint FROM events "
                       "WHERE action_type = 'token.issue' AND phase = 'completed'")
    used = _set(con, "SELECT token_fingerprint FROM events WHERE action_type = 'token.use'")
    assert used and used <= issued, "token.use must reuse an issued token"
    assert all(fp.startswith("hmac-sha256:k1:") for fp in issued)
    derived = _set(con, "SELECT parent_token_fingerprint FROM events WHERE action_type = "
                        "'token.issue' AND parent_token_fingerprint IS NOT NULL")
    assert derived and derived <= issued, "delegated tokens are issued from an issued token"


def test_failures_and_regions_are_recorded(materialized: Any) -> None:
    _, _, con = materialized
    codes = _set(con, "SELECT DISTINCT error_code FROM events WHERE outcome = 'failure'")
    assert "card_declined" in codes and {"ToolTimeout", "DeployFailed"} <= codes
    assert _one(con, "SELECT count(*) FROM events WHERE outcome = 'denied'") > 0
    assert _one(con, "SELECT count(*) FROM events WHERE resource_region <> agent_region") > 0
    assert _one(con, "SELECT count(*) FROM events WHERE data_region IS NOT NULL") > 0


def test_same_seed_gives_the_same_action_mix(broker: EmbeddedBroker, tmp_path: Path,
                                             materialized: Any) -> None:
    report, _, _ = materialized
    with _fresh_driver(broker, tmp_path, "determinism") as trail:
        again = Fleet(trail, seed=7).run(EVENTS)
        other = Fleet(trail, seed=8).run(EVENTS)
    assert again.actions == report.actions
    assert again.per_tenant == report.per_tenant
    assert (again.events, again.tasks) == (report.events, report.tasks)
    assert other.actions != report.actions


def test_every_action_names_the_documentation_address_of_its_host(materialized: Any) -> None:
    _, _, con = materialized
    hosts = con.execute("SELECT agent_id, agent_region, list(DISTINCT unseal(source_address)) FROM events "
                        "GROUP BY ALL").fetchall()
    assert all(len(addresses) == 1 for _, _, addresses in hosts), "one stable address per agent and region"
    assert all(addresses[0].rsplit(".", 1)[0] == ADDRESS_RANGES[region] for _, region, addresses in hosts)


def test_each_sub_agent_uses_a_token_of_its_own(materialized: Any) -> None:
    _, _, con = materialized
    shared = _one(con, "SELECT count(*) FROM (SELECT token_fingerprint FROM events WHERE action_type = "
                       "'token.use' GROUP BY 1 HAVING count(DISTINCT agent_id) > 1)")
    assert shared == 0


def test_pacing_changes_when_actions_happen_never_which(broker: EmbeddedBroker, tmp_path: Path,
                                                        materialized: Any) -> None:
    report, _, _ = materialized
    with _fresh_driver(broker, tmp_path, "pacing") as trail:
        paced = Fleet(trail, seed=7, pace=20.0).run(EVENTS)
        throttled = Fleet(trail, seed=7).run(300, wall_rate=1000.0)
    assert (paced.actions, paced.events, paced.tasks) == (report.actions, report.events, report.tasks)
    assert paced.anomalies == [] and paced.emitted_wall == {}, "neither is asked for"
    assert throttled.seconds >= throttled.events / 1000.0, "it sleeps rather than outrun the wall rate"


def test_a_paced_fleet_carries_on_when_the_guard_refuses_a_suspended_agents_tasks(broker: EmbeddedBroker,
                                                                                  tmp_path: Path) -> None:
    settings = _settings(tmp_path, broker.bootstrap, topic_prefix="suspended")
    ensure_topics(settings, broker.bootstrap)
    trail = _driver(settings)
    try:
        fleet = Fleet(trail, seed=7, agents=2, tenants=1, pace=20.0)
        suspended = fleet.agents[0]
        publish_control(settings, broker.bootstrap, suspended.tenant, AgentSuspended(agent_id=suspended.id),
                        actor="human:ops", via="test")
        with open_store(settings.db) as con:
            assert materialize(settings, con, until=1, table="control_events") == 1  # its notice is published
        wait_for(lambda: trail.guard is not None and trail.guard.suspended(suspended.id), "the guard to hear it")
        report = fleet.run(300)
    finally:
        trail.close()
    assert report.refused > 0 and report.events >= 300, "a task refused before it began still took its turn"
