"""Operation chains materialized as events arrive: any arrival order and batching gives one answer."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenttrail.config import load_settings
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import check_rebuild
from agenttrail.consumers.store import open_store
from agenttrail.queries import run_query
from tests.chain_events import chain_table, event, project, store_events


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = open_store(tmp_path / "chains.duckdb")
    yield connection
    connection.close()


def materialized(rows: list[dict[str, Any]], batch_size: int) -> list[dict[str, Any]]:
    """The chain tables after ``rows`` arrive in this order, ``batch_size`` per batch."""
    con = open_store(Path(":memory:"))
    try:
        store_events(con, rows)
        project(con, batch_size=batch_size)
        return chain_table(con)
    finally:
        con.close()


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Events whose parents are earlier, later, missing, in another tenant, themselves, or on a cycle."""
    size = draw(st.integers(1, 24))
    rows = []
    for i in range(size):
        parent = draw(st.one_of(st.none(), st.integers(0, size - 1).map(lambda j: f"n{j:02d}"),
                                st.just("missing")))
        tenant = draw(st.sampled_from(["acme", "acme", "acme", "evil"]))
        phase = draw(st.sampled_from(["completed", "completed", "started"]))
        rows.append(event(
            f"n{i:02d}", parent, tenant=tenant, phase=phase,
            outcome=draw(st.sampled_from(["success", "failure", "denied"])),
            cost_amount=draw(st.sampled_from([None, 1, 2])), cost_currency=draw(st.sampled_from(["USD", "EUR"])),
            input_tokens=draw(st.sampled_from([None, 10])), agent_region=draw(st.sampled_from(["eu", "us"])),
            attributes={"started_event_id": f"n{draw(st.integers(0, size - 1)):02d}"} if phase == "completed"
            and draw(st.booleans()) else {}))
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.randoms(use_true_random=False), st.integers(1, 6), st.integers(1, 6))
def test_shuffled_arrival_in_any_batches_converges_to_the_in_order_chains(
    rows: list[dict[str, Any]], rng: random.Random, batch_size: int, shuffled_batch_size: int
) -> None:
    shuffled = rows[:]
    rng.shuffle(shuffled)
    assert materialized(shuffled, shuffled_batch_size) == materialized(rows, batch_size)


def test_a_child_stored_before_its_parent_is_a_root_until_the_parent_arrives(
    con: duckdb.DuckDBPyConnection,
) -> None:
    store_events(con, [event("leaf", "mid"), event("mid", "root")])
    project(con)
    assert roots(con) == {"leaf": "mid", "mid": "mid"}
    store_events(con, [event("root")])
    project(con)
    assert roots(con) == {"leaf": "root", "mid": "root", "root": "root"}
    leaf = con.execute("SELECT path FROM chain_nodes WHERE event_id = 'leaf'").fetchall()
    assert leaf == [(["root", "mid", "leaf"],)]
    assert con.execute("SELECT count(*) FROM chain_pending").fetchall() == [(0,)]


def test_a_forged_parent_in_another_tenant_is_not_joined(con: duckdb.DuckDBPyConnection) -> None:
    store_events(con, [event("victim"), event("forged", "victim", tenant="evil")])
    project(con)
    assert roots(con) == {"victim": "victim", "forged": "forged"}
    ids = run_query(con, "chain", {"event_id": "victim"}).column("event_id").to_pylist()
    assert ids == ["victim"]


def test_a_cycle_of_parent_claims_ends_at_its_smallest_id_and_does_not_loop(
    con: duckdb.DuckDBPyConnection,
) -> None:
    store_events(con, [event("b", "c"), event("c", "a"), event("tail", "c"), event("a", "b")])
    project(con, batch_size=1)
    assert set(roots(con).values()) == {"a"}
    rows = run_query(con, "chain", {"event_id": "tail"}).to_pylist()
    assert [(r["depth"], r["event_id"]) for r in rows] == [(0, "a"), (1, "c"), (2, "b"), (2, "tail")]


def test_rollups_total_cost_tokens_failures_regions_and_versions_per_chain(
    con: duckdb.DuckDBPyConnection,
) -> None:
    store_events(con, [
        event("llm", "root", cost_amount=2, cost_currency="USD", input_tokens=100, output_tokens=7,
              agent_region="us-east-1"),
        event("pay-start", "root", phase="started", outcome="pending", duration_us=None),
        event("pay", "root", cost_amount=20, cost_currency="EUR", attributes={"started_event_id": "pay-start"},
              agent_id="payer", agent_version="2.0.0"),
        event("tool", "llm", outcome="failure", cost_amount=1, cost_currency="USD", resource_region="ap-southeast-2"),
        event("root", duration_us=5_000_000),
    ])
    project(con, batch_size=2)
    [rollup] = con.sql("SELECT * FROM chain_rollups").to_arrow_table().to_pylist()
    assert rollup["root_id"] == "root" and rollup["events"] == 5 and rollup["actions"] == 4
    assert rollup["incomplete"] == 0 and rollup["failures"] == 1 and rollup["max_depth"] == 2
    assert dict(rollup["cost"]) == {"EUR": Decimal("20"), "USD": Decimal("3")}
    assert (rollup["input_tokens"], rollup["output_tokens"]) == (100, 7)
    assert rollup["regions"] == ["ap-southeast-2", "eu-west-1", "us-east-1"]
    assert rollup["agent_versions"] == ["billing-bot@1.0.0", "payer@2.0.0"]
    assert rollup["duration_us"] == 5_000_000


def test_rebuild_reproduces_the_live_tables_and_check_reports_a_tampered_row(
    con: duckdb.DuckDBPyConnection,
) -> None:
    store_events(con, [event("c", "b"), event("b", "a"), event("a"), event("z", "a", cost_amount=1,
                                                                         cost_currency="USD")])
    project(con, batch_size=1)
    projections = default_projections(load_settings())
    assert check_rebuild(con, projections, batch_size=3) == []
    con.execute("UPDATE chain_rollups SET events = 99")
    [difference] = check_rebuild(con, projections, batch_size=3)
    assert (difference.table, difference.live_only, difference.rebuilt_only) == ("chain_rollups", 1, 1)
    assert con.execute("SELECT events FROM chain_rollups").fetchall() == [(99,)], "check changes nothing"


def roots(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT event_id, root_id FROM chain_nodes").fetchall())


def test_accountable_walks_the_actor_chain_to_the_human_who_delegated(con: duckdb.DuckDBPyConnection) -> None:
    delegated = [{"kind": "agent", "id": "worker"}, {"kind": "agent", "id": "planner"}, {"kind": "human", "id": "bob"}]
    store_events(con, [event("root", principal_kind="service", principal_id="billing"),
                       event("step", "root", principal_kind="service", principal_id="billing",
                             agent_id="worker", actor_chain=delegated)])
    project(con)
    [row] = run_query(con, "accountable", {"event_id": "step"}).to_pylist()
    assert (row["accountable_human"], row["rule"]) == ("bob", "actor_chain")
    assert row["actor_path"] == "human:bob → agent:planner → agent:worker" and row["root_id"] == "root"
    [root] = run_query(con, "accountable", {"event_id": "root"}).to_pylist()
    assert (root["accountable_human"], root["rule"]) == (None, "none")
