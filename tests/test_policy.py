"""Policy rules: files refused with their line, decisions made in store order, backtests equal to live.

Events and control events are written straight into a real store in a chosen
order (``tests/chain_events.py``) and replayed through the real projections.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail import PolicyError
from agenttrail.consumers.policy import backtest, check_conditions, parse_rules
from agenttrail.consumers.store import open_store
from agenttrail.schemas.control import PolicySetLoaded, PolicySetRemoved
from tests.chain_events import T0, event, project, store_control, store_events
from tests.test_enforcement import CHILD, GRANDCHILD, ROOT, issue, use

RULES = """\
rules:
  - id: token-from-unknown-address
    version: 1
    description: A token used from an address outside our egress range is treated as leaked.
    when: token_fingerprint IS NOT NULL AND NOT starts_with(source_address, '10.')
    action: revoke_token_tree
    severity: critical
    mode: enforce
  - id: denied-payments
    version: 2
    description: Denied payments deserve a look.
    when: action_type = 'payment.create' AND outcome = 'denied'
    action: suspend_agent
    mode: dry_run
"""


def load(con: duckdb.DuckDBPyConnection, text: str, *, name: str = "security", tenant: str = "*") -> str:
    sha = hashlib.sha256(text.encode()).hexdigest()
    return store_control(con, tenant, PolicySetLoaded(name=name, sha256=sha, text=text), reason="backtested")


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return open_store(tmp_path / "policy.duckdb")


def decisions(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return con.sql("SELECT * FROM policy_decisions ORDER BY store_seq, decision_id").to_arrow_table().to_pylist()


def leak_story(con: duckdb.DuckDBPyConnection) -> None:
    load(con, RULES)
    store_events(con, [
        issue("e1", ROOT, None, "planner") | {"source_address": "10.0.0.5"},
        issue("e2", CHILD, ROOT, "researcher") | {"source_address": "10.0.0.6"},
        issue("e3", GRANDCHILD, CHILD, "scraper") | {"source_address": "10.0.0.7"},
        use("e4", ROOT, "planner") | {"source_address": "203.0.113.9"},   # the leak, used from outside
        use("e5", ROOT, "planner") | {"source_address": "203.0.113.9"},   # fires nothing new
        event("e6", agent_id="billing", action_type="payment.create", outcome="denied"),
        event("e7", agent_id="billing", action_type="payment.create", outcome="denied"),
    ])


def test_an_enforced_rule_revokes_the_token_tree_and_records_its_decision_once(con):
    leak_story(con)
    project(con)
    fired = decisions(con)
    assert [(d["rule_id"], d["subject"], d["event_id"], d["mode"]) for d in fired] == [
        ("token-from-unknown-address", ROOT, "e4", "enforce"), ("denied-payments", "billing", "e6", "dry_run")]
    stopped = con.sql("SELECT subject, rule_id, decided_by, cause_event_id FROM enforcement_in_force "
                      "ORDER BY subject").fetchall()
    assert stopped == sorted((fp, "token-from-unknown-address@v1", "policy:security", "e4")
                             for fp in (ROOT, CHILD, GRANDCHILD))


def test_a_dry_run_rule_records_what_it_would_do_and_changes_nothing(con):
    leak_story(con)
    project(con)
    assert con.sql("SELECT count(*) FROM enforcement WHERE subject_kind = 'agent'").fetchall() == [(0,)]


def test_a_backtest_decides_exactly_what_live_decided_and_writes_nothing(con):
    leak_story(con)
    project(con, batch_size=3)
    live = [{k: d[k] for k in ("decision_id", "store_seq", "rule_id", "subject", "event_id", "action", "mode")}
            for d in decisions(con)]
    tested = backtest(con, parse_rules(RULES), since=None, page_size=2).to_pylist()
    assert [{k: d[k] for k in live[0]} for d in tested] == live
    assert len(decisions(con)) == len(live), "a backtest writes no decision"


def test_rules_judge_only_events_stored_after_they_were_loaded(con):
    store_events(con, [use("before", ROOT, "planner") | {"source_address": "203.0.113.9"}])
    load(con, RULES)
    store_events(con, [use("after", ROOT, "planner") | {"source_address": "203.0.113.9"}])
    project(con, batch_size=1)
    assert [d["event_id"] for d in decisions(con)] == ["after"]


def test_a_set_that_fails_validation_is_rejected_and_the_one_before_stays_in_force(con):
    load(con, RULES)
    bad = RULES.replace("NOT starts_with(source_address, '10.')", "no_such_column")
    load(con, bad)
    store_events(con, [use("e1", ROOT, "planner") | {"source_address": "203.0.113.9"}])
    project(con)
    sets = con.sql("SELECT status, valid_to_seq IS NULL, error FROM policy_sets ORDER BY valid_from_seq").fetchall()
    assert [s[:2] for s in sets] == [("active", True), ("rejected", False)]
    assert "line 2" in sets[1][2] and "no_such_column" in sets[1][2]
    assert [d["event_id"] for d in decisions(con)] == ["e1"]


def test_a_removed_set_stops_deciding(con):
    load(con, RULES)
    store_control(con, "*", PolicySetRemoved(name="security"))
    store_events(con, [use("e1", ROOT, "planner") | {"source_address": "203.0.113.9"}])
    project(con)
    assert decisions(con) == []


def test_a_tenant_set_judges_only_that_tenant_even_if_when_tries_to_widen_it(con):
    sneaky = RULES.replace("when: token_fingerprint IS NOT NULL AND NOT starts_with(source_address, '10.')",
                           "when: \"token_fingerprint IS NOT NULL) OR (true\"")
    load(con, sneaky, tenant="globex")
    store_events(con, [use("acme-event", ROOT, "planner") | {"source_address": "203.0.113.9"}])
    project(con)
    assert decisions(con) == []


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_replay_in_any_batch_size_decides_and_revokes_the_same(con, batch_size):
    leak_story(con)
    project(con)
    expected = (decisions(con), con.sql("SELECT * FROM enforcement ORDER BY subject").to_arrow_table().to_pylist())
    project(con, batch_size=batch_size)
    assert (decisions(con), con.sql("SELECT * FROM enforcement ORDER BY subject").to_arrow_table().to_pylist()) \
        == expected


SPEND_RULE = """\
rules:
  - id: big-spender
    version: 1
    description: An agent that spends over 1 USD in a day stops buying.
    when: agent_spend_day > 1.00 AND cost_currency = 'USD'
    action: suspend_agent
    mode: dry_run
"""


def spend_story(con: duckdb.DuckDBPyConnection) -> None:
    load(con, SPEND_RULE)
    yesterday = T0 - timedelta(days=1)

    def charge(event_id: str, amount: str, **fields: Any) -> dict[str, Any]:
        return event(event_id, agent_id="buyer", cost_amount=Decimal(amount), cost_currency="USD") | fields

    store_events(con, [
        charge("old", "0.90", occurred_at=yesterday),  # another day: under the limit, and not counted today
        charge("c1", "0.40"), charge("c2", "0.40"),
        charge("eur", "3.00", cost_currency="EUR"),  # another currency
        event("free", agent_id="buyer"),  # no cost: no spend to judge
        charge("c3", "0.30"),  # 1.10 USD today: the first over the limit
        charge("c4", "0.10"),  # over too, but the decision is made once
    ])


@pytest.mark.parametrize("batch_size", [1, 2, 7])
def test_a_rule_sees_the_agents_spend_for_the_day_as_of_each_event(con, batch_size):
    spend_story(con)
    project(con, batch_size=batch_size)
    assert [(d["rule_id"], d["subject"], d["event_id"]) for d in decisions(con)] == [("big-spender", "buyer", "c3")]
    tested = backtest(con, parse_rules(SPEND_RULE), since=None, page_size=batch_size).to_pylist()
    assert [d["event_id"] for d in tested] == ["c3"], "a backtest sees the spend as of each event, not today's total"


@pytest.mark.parametrize(("text", "message"), [
    ("rules: [", "not valid YAML"),
    ("rules:\n  - id: a\n    version: 1\n    description: d\n    when: 'true'\n    action: nuke\n",
     "line 2: rule 'a': action"),
    ("rules:\n  - id: a\n    version: 1\n    description: d\n    when: 'true'\n    action: alert\n"
     "  - id: a\n    version: 2\n    description: d\n    when: 'true'\n    action: alert\n", "line 7: rule id 'a'"),
    ("policies: []\n", "a mapping with a `rules:` list"),
    ("rules: []\n", "no rules"),
])
def test_a_malformed_file_is_refused_with_its_line(text, message):
    with pytest.raises(PolicyError, match=message):
        parse_rules(text)


@pytest.mark.parametrize(("when", "message"), [
    ("nonexistent = 1", "does not run: Binder Error"),
    ("outcome IN (SELECT outcome FROM events)", "not subqueries"),
    ("(SELECT count(*) FROM read_csv('/etc/passwd')) > 0", "not subqueries"),
    ("true) UNION SELECT * FROM events WHERE (true", "not subqueries"),
    ("true; DROP TABLE events", "not one SQL expression"),
])
def test_a_condition_that_could_reach_beyond_its_row_is_refused(con, when, message):
    text = f"rules:\n  - id: a\n    version: 1\n    description: d\n    when: \"{when}\"\n    action: alert\n"
    with pytest.raises(PolicyError, match=message):
        check_conditions(parse_rules(text))
    assert con.sql("SELECT count(*) FROM events").fetchall() == [(0,)]


def test_the_shipped_example_rules_validate():
    from importlib import resources

    text = resources.files("agenttrail").joinpath("policies", "example.yaml").read_text("utf-8")
    check_conditions(parse_rules(text))
