"""Token lineage, revocation cascades, suspensions and reinstatements, materialized from stored events.

Events and control events are written straight into a real store in a chosen
order (``tests/chain_events.py``) and replayed through the real projections, so
each test says exactly which event came before which revocation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.consumers.store import open_store
from agenttrail.queries import run_query
from agenttrail.schemas.control import AgentReinstated, AgentSuspended, TokenReinstated, TokenRevoked
from tests.chain_events import event, project, store_control, store_events


def fp(n: int) -> str:
    return f"hmac-sha256:k1:{n:064x}"


ROOT, CHILD, GRANDCHILD, LATE_CHILD, OTHER = fp(1), fp(2), fp(3), fp(4), fp(5)


def issue(event_id: str, token: str, parent: str | None, agent: str) -> dict[str, Any]:
    """A token.issue event: ``agent`` receives ``token``, minted from ``parent``."""
    return event(event_id, agent_id=agent, action_type="token.issue", action_name="issue_token",
                 token_fingerprint=token, parent_token_fingerprint=parent, token_issuer="https://idp.acme.example")


def use(event_id: str, token: str, agent: str) -> dict[str, Any]:
    return event(event_id, agent_id=agent, action_type="api.call", action_name="charge", token_fingerprint=token)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return open_store(tmp_path / "enforcement.duckdb")


def in_force(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str | None]]:
    rows = con.sql("SELECT subject, status, root FROM enforcement_in_force").fetchall()
    return {subject: (status, root) for subject, status, root in rows}


def history(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return con.sql("SELECT * FROM enforcement ORDER BY subject_kind, subject, valid_from_seq").to_arrow_table() \
        .to_pylist()


def lineage(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return con.sql("SELECT * FROM token_lineage ORDER BY fingerprint").to_arrow_table().to_pylist()


def leaked_token_story(con: duckdb.DuckDBPyConnection) -> None:
    """Root token, delegated twice; the root is revoked as a tree; then the lineage tries to grow and is used."""
    store_events(con, [issue("e1", ROOT, None, "planner"), issue("e2", CHILD, ROOT, "researcher"),
                       issue("e3", GRANDCHILD, CHILD, "scraper"), issue("e4", OTHER, None, "billing")])
    store_control(con, "acme", TokenRevoked(fingerprint=ROOT, tree=True), reason="root token leaked in a gist")
    store_events(con, [issue("e5", LATE_CHILD, GRANDCHILD, "scraper"), use("e6", CHILD, "researcher"),
                       use("e7", OTHER, "billing")])


def test_revoking_a_token_tree_revokes_every_descendant_and_whatever_is_minted_from_it_later(con):
    leaked_token_story(con)
    project(con)
    assert in_force(con) == {ROOT: ("revoked", ROOT), CHILD: ("revoked", ROOT), GRANDCHILD: ("revoked", ROOT),
                             LATE_CHILD: ("revoked", ROOT)}
    [late] = [row for row in history(con) if row["subject"] == LATE_CHILD]
    assert late["cause_event_id"] == "e5" and late["reason"] == f"minted from revoked token {GRANDCHILD}"
    [root] = [row for row in history(con) if row["subject"] == ROOT]
    assert (root["reason"], root["decided_by"]) == ("root token leaked in a gist", "human:sec-oncall")


def test_lineage_records_parent_holder_and_issuer_of_each_token(con):
    leaked_token_story(con)
    project(con)
    rows = con.sql("SELECT fingerprint, parent_fingerprint, holder_agent_id, issuer FROM token_lineage "
                   "ORDER BY fingerprint").fetchall()
    assert rows == [(ROOT, None, "planner", "https://idp.acme.example"),
                    (CHILD, ROOT, "researcher", "https://idp.acme.example"),
                    (GRANDCHILD, CHILD, "scraper", "https://idp.acme.example"),
                    (LATE_CHILD, GRANDCHILD, "scraper", "https://idp.acme.example"),
                    (OTHER, None, "billing", "https://idp.acme.example")]


def test_revoking_without_tree_stops_only_that_token_but_still_blocks_new_children(con):
    store_events(con, [issue("e1", ROOT, None, "planner"), issue("e2", CHILD, ROOT, "researcher")])
    store_control(con, "acme", TokenRevoked(fingerprint=ROOT))
    store_events(con, [issue("e3", LATE_CHILD, ROOT, "researcher")])
    project(con)
    assert set(in_force(con)) == {ROOT, LATE_CHILD}


def test_used_after_revocation_lists_uses_of_revoked_tokens_and_nothing_before_the_revocation(con):
    store_events(con, [use("before", CHILD, "researcher")])
    leaked_token_story(con)
    project(con)
    rows = run_query(con, "used-after-revocation", {}).to_pylist()
    assert [(r["event_id"], r["token_fingerprint"], r["revoked_by_event_id"]) for r in rows] == \
        [("e6", CHILD, "ctl-6")]


def test_reinstating_a_tree_lifts_the_cascade_and_keeps_both_facts(con):
    leaked_token_story(con)
    reinstated = store_control(con, "acme", TokenReinstated(fingerprint=ROOT, tree=True), reason="false alarm")
    project(con)
    assert in_force(con) == {}
    rows = history(con)
    assert len(rows) == 4 and {row["lift_event_id"] for row in rows} == {reinstated}
    assert {row["lift_reason"] for row in rows} == {"false alarm"}


def test_a_second_revocation_of_a_revoked_token_starts_nothing_new(con):
    store_events(con, [issue("e1", ROOT, None, "planner")])
    store_control(con, "acme", TokenRevoked(fingerprint=ROOT))
    store_control(con, "acme", TokenRevoked(fingerprint=ROOT, tree=True))
    project(con)
    assert len(history(con)) == 1


def test_suspending_and_reinstating_an_agent_is_history(con):
    store_control(con, "acme", AgentSuspended(agent_id="billing"), reason="looping on refunds")
    store_events(con, [use("e1", OTHER, "billing")])
    store_control(con, "acme", AgentReinstated(agent_id="billing"), reason="fixed in 1.0.1")
    project(con)
    [row] = history(con)
    assert (row["subject_kind"], row["subject"], row["status"], row["reason"], row["lift_reason"]) == \
        ("agent", "billing", "suspended", "looping on refunds", "fixed in 1.0.1")
    rows = run_query(con, "used-after-revocation", {}).to_pylist()
    assert [(r["event_id"], r["agent_id"]) for r in rows] == [("e1", "billing")]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7])
def test_replay_in_any_batch_size_reaches_the_same_history(con, batch_size):
    leaked_token_story(con)
    store_control(con, "acme", TokenReinstated(fingerprint=CHILD), reason="researcher's token was not exposed")
    store_events(con, [issue("e8", fp(6), CHILD, "researcher")])
    project(con, batch_size=5000)
    expected = (history(con), lineage(con))
    project(con, batch_size=batch_size)
    assert (history(con), lineage(con)) == expected
