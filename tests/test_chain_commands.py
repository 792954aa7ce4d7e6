"""Chains, principals, accountability and provenance as an analyst reads them: SDK -> real broker -> DuckDB -> CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import duckdb
from click.testing import CliRunner, Result

from agenttrail.cli import cli
from agenttrail.config import Settings
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import check_rebuild
from agenttrail.consumers.store import open_store
from agenttrail.producers.fleet import Fleet
from tests.chain_events import chain_table, project, store_events
from tests.fixtures import TrailFactory, materialize, scaled
from tests.test_cli import agenttrail


def run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(settings.db), *args])


def stored(settings: Settings, store: duckdb.DuckDBPyConnection, count: int) -> None:
    """Materialize ``count`` events, then let go of the file so the CLI can open it."""
    assert materialize(settings, store, until=count) == count
    store.close()


def test_chain_draws_the_whole_tree_and_json_nests_it(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory()
    with trail.action("agent.run", "answer-ticket") as root:
        with trail.action("llm.call", "draft") as llm:
            llm.set_cost("0.004200000", "USD", input_tokens=1200, output_tokens=300)
        with trail.action("token.issue", "github-app"):  # fail_closed: started + completed
            pass
        worker = trail.delegate("worker", "2.0.0")
        with worker.action("tool.call", "search"):
            pass
    assert trail.flush(10)
    stored(settings, store, 5)

    tree = run(settings, "chain", llm.event_id)
    assert tree.exit_code == 0, tree.output
    summary, *lines = tree.output.splitlines()
    assert summary.startswith("chain 4 actions (5 events, 0 incomplete)") and "0.0042 USD" in summary
    assert lines[0].startswith("agent.run answer-ticket  agent-1@1.0.0  success")
    assert lines[1].startswith("├── llm.call draft") and lines[1].endswith("◀ asked")
    assert lines[2].startswith("├── token.issue github-app") and "fail_closed: started+completed" in lines[2]
    assert lines[3].startswith("└── tool.call search  worker@2.0.0") and len(lines) == 4

    nested = json.loads(run(settings, "chain", root.event_id, "--json").output)
    assert nested["rollup"]["cost"] == {"USD": "0.004200000"} and nested["rollup"]["max_depth"] == 1
    top = nested["tree"]
    assert top["event_id"] == root.event_id and top["depth"] == 0
    assert [c["action_type"] for c in top["children"]] == ["llm.call", "token.issue", "tool.call"]
    assert all(c["parent_event_id"] == root.event_id and c["children"] == [] for c in top["children"])
    assert top["children"][1]["phase"] == "started+completed"

    missing = run(settings, "chain", "no-such-event")
    assert missing.exit_code == 1 and "No stored event has the id 'no-such-event'" in missing.output


def test_a_forged_parent_in_another_tenant_is_not_joined_to_the_chain(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    acme, evil = trail_factory(tenant="acme"), trail_factory(tenant="evil", agent_id="intruder")
    with acme.action("agent.run", "task") as root, evil.action("tool.call", "graft") as forged:
        pass  # the intruder's event claims acme's action as its parent
    assert acme.flush(10) and evil.flush(10)
    stored(settings, store, 2)
    ids = [row["event_id"] for row in json.loads(run(settings, "query", "chain", "-p",
                                                     f"event_id={root.event_id}", "--json").output)]
    assert ids == [root.event_id]
    alone = json.loads(run(settings, "chain", forged.event_id, "--json").output)
    assert alone["tree"]["event_id"] == forged.event_id and alone["tree"]["parent_event_id"] is None


def test_principal_shows_every_agent_acting_for_them_through_delegation(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    planner = trail_factory(agent_id="planner", principal="human:alice@acme.example")
    with planner.action("agent.run", "plan"):
        worker = planner.delegate("worker", "2.0.0")
        with worker.action("llm.call", "draft") as act:
            act.set_cost("0.5", "USD", input_tokens=10, output_tokens=4)
        with worker.action("token.use", "call-api") as act:
            act.use_token("raw-token-value-for-test", token_id="tok_1")
        with worker.delegate("checker", "0.1.0").action("tool.call", "verify"):
            pass
    other = trail_factory(agent_id="someone-else", principal="human:bob@acme.example")
    with other.action("tool.call", "x"):
        pass
    assert planner.flush(10) and other.flush(10)
    stored(settings, store, 5)

    rows = json.loads(run(settings, "principal", "human:alice@acme.example", "--json").output)
    by_path = {row["actor_path"]: row for row in rows}
    assert set(by_path) == {"planner", "planner → worker", "planner → worker → checker"}
    assert by_path["planner → worker"]["delegation_depth"] == 1
    assert by_path["planner → worker"]["events"] == 2
    assert by_path["planner → worker"]["spend"] == {"USD": "0.500000000"}
    assert by_path["planner → worker"]["credentials"] == ["tok_1"]
    assert by_path["planner → worker"]["input_tokens"] == 10
    assert by_path["planner → worker → checker"]["versions"] == ["0.1.0"]
    assert run(settings, "principal", "alice@acme.example", "--json").output == run(
        settings, "principal", "human:alice@acme.example", "--json").output, "the kind is optional"


def test_accountable_finds_the_human_behind_each_event(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    alice = trail_factory(agent_id="assistant", principal="human:alice")
    billing = trail_factory(agent_id="billing-bot", principal="service:billing")
    cron = trail_factory(agent_id="cron-bot", principal="service:cron")
    with alice.action("agent.run", "close-month") as root, billing.action("payment.refund", "refund") as paid:
        pass  # a service's action inside alice's chain
    with cron.action("tool.call", "cleanup") as unowned:
        pass
    assert alice.flush(10) and billing.flush(10) and cron.flush(10)
    stored(settings, store, 4)

    def accountable(event_id: str) -> dict[str, Any]:
        [row] = json.loads(run(settings, "query", "accountable", "-p", f"event_id={event_id}", "--json").output)
        return row

    assert (accountable(root.event_id)["accountable_human"], accountable(root.event_id)["rule"]) == (
        "alice", "principal")
    assert (accountable(paid.event_id)["accountable_human"], accountable(paid.event_id)["rule"]) == (
        "alice", "chain_root")
    assert (accountable(unowned.event_id)["accountable_human"], accountable(unowned.event_id)["rule"]) == (
        None, "none")


def test_versions_show_where_each_version_ran_and_what_it_did(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    old = trail_factory(agent_id="research", agent_version="1.0.0", region="eu-west-1")
    new = old.for_agent(tenant="acme", agent_id="research", agent_version="1.1.0", region="us-east-1",
                        principal="human:alice")
    for trail, count in ((old, 2), (new, 3)):
        for i in range(count):
            with trail.action("tool.call", f"step-{i}"):
                pass
    assert old.flush(10)
    stored(settings, store, 5)

    versions = json.loads(run(settings, "query", "versions", "-p", "agent=research", "--json").output)
    assert [(v["agent_version"], v["regions"], v["events"]) for v in versions] == [
        ("1.0.0", ["eu-west-1"], 2), ("1.1.0", ["us-east-1"], 3)]
    assert versions[0]["first_seen"] <= versions[1]["first_seen"]
    actions = json.loads(run(settings, "query", "actions_by_version", "-p", "version=1.1.0", "--json").output)
    assert sorted(a["action"] for a in actions) == ["tool.call step-0", "tool.call step-1", "tool.call step-2"]
    assert {a["ran_in"] for a in actions} == {"us-east-1"} and all(a["chain_root_id"] for a in actions)


def test_a_fleet_materialized_live_equals_a_rebuild_and_a_shuffled_replay(
    trail_factory: TrailFactory, settings_factory: Any, tmp_path: Path
) -> None:
    settings = settings_factory(batch_max_records=97)  # many small live batches
    store = open_store(settings.db)
    driver = trail_factory(settings_=settings, agent_id="fleet-driver", principal="service:fleet")
    Fleet(driver, seed=3).run(scaled(1500))
    assert driver.flush(30)
    produced = driver.emitter.stats.acked
    assert materialize(settings, store, until=produced) == produced
    try:
        assert check_rebuild(store, default_projections(settings), batch_size=1000) == []
        live = chain_table(store)
        events = store.sql("SELECT * FROM events ORDER BY store_seq").to_arrow_table().to_pylist()
    finally:
        store.close()
    random.Random(5).shuffle(events)
    with open_store(tmp_path / "shuffled.duckdb") as shuffled:
        store_events(shuffled, events)
        project(shuffled, batch_size=61)
        assert chain_table(shuffled) == live


def test_rebuild_check_reports_a_tampered_table_and_rebuild_repairs_it(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory()
    with trail.action("agent.run", "task"), trail.action("llm.call", "draft"):
        pass
    assert trail.flush(10)
    stored(settings, store, 2)
    assert run(settings, "rebuild", "--check").exit_code == 0
    with open_store(settings.db) as con:
        con.execute("UPDATE chain_nodes SET depth = 7")
    mismatch = run(settings, "rebuild", "--check")
    assert mismatch.exit_code == 1 and "chain_nodes: 2 live rows not rebuilt" in mismatch.output
    rebuilt = run(settings, "rebuild", "--batch-size", "1")
    assert rebuilt.exit_code == 0 and "were rebuilt from 2 events" in " ".join(rebuilt.output.split())
    assert run(settings, "rebuild", "--check").exit_code == 0


def test_rebuild_refuses_in_one_sentence_while_serve_holds_the_database(
    served: tuple[Path, dict[str, str]],
) -> None:
    workdir, env = served
    result = agenttrail("rebuild", cwd=workdir, env=env)
    assert result.returncode == 1 and "agenttrail serve at http://127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr
