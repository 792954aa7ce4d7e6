"""Leak reports and revoked lineages, materialized from stored events in a chosen order.

Events and control events are written straight into a real store (``tests/chain_events.py``)
and replayed through the real projections, so each test says exactly which event came
before which report or revocation, and a replay in other batch sizes must agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.config import load_settings
from agenttrail.consumers.migrations import migrate
from agenttrail.consumers.policy.builtin import RULES_SHA256
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import check_rebuild
from agenttrail.consumers.store import SCHEMA_VERSION, open_store
from agenttrail.schemas.control import LeakReported, TokenReinstated, TokenRevoked
from tests.chain_events import project, store_control, store_events
from tests.test_enforcement import CHILD, GRANDCHILD, LATE_CHILD, OTHER, ROOT, fp, issue, use

URL = "https://github.com/octocat/Hello-World/blob/1234567/config.env"


def leak(fingerprint: str, label: str = "true_positive") -> LeakReported:
    return LeakReported(fingerprint=fingerprint, source_url=URL, reporter="github:key-1", label=label,
                        token_type="acme_api_token", found_in="content")


def rows(con: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    return con.sql(query).to_arrow_table().to_pylist()


def revocations(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Each token's revocation row (a story below revokes each token at most once)."""
    found = rows(con, "SELECT * FROM enforcement WHERE subject_kind = 'token'")
    return {row["subject"]: row for row in found}


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return open_store(tmp_path / "leaks.duckdb")


def lineage_of_three(con: duckdb.DuckDBPyConnection) -> None:
    store_events(con, [issue("e1", ROOT, None, "planner"), issue("e2", CHILD, ROOT, "researcher"),
                       issue("e3", GRANDCHILD, CHILD, "scraper"), issue("e4", OTHER, None, "billing")])


def test_a_leak_report_of_a_known_token_revokes_its_tree_each_revocation_naming_the_report_and_its_parent(con):
    lineage_of_three(con)
    reported = store_control(con, "acme", leak(ROOT), actor="service:github-secret-scanning", reason=None)
    project(con)

    [decision] = rows(con, "SELECT * FROM policy_decisions")
    assert (decision["rule_id"], decision["set_name"], decision["action"], decision["mode"], decision["subject"],
            decision["event_id"], decision["rules_sha256"]) == (
        "leaked-token", "builtin", "revoke_token_tree", "enforce", ROOT, reported, RULES_SHA256)
    assert decision["reason"] == f"reported leaked by github:key-1 at {URL}"
    revoked = revocations(con)
    assert set(revoked) == {ROOT, CHILD, GRANDCHILD}, "the tree and nothing else"
    assert {row["cause_event_id"] for row in revoked.values()} == {reported}
    assert {row["decided_by"] for row in revoked.values()} == {"policy:builtin"}
    assert {row["rule_id"] for row in revoked.values()} == {"leaked-token@v1"}
    assert [revoked[t]["caused_by"] for t in (ROOT, CHILD, GRANDCHILD)] == [None, ROOT, CHILD]
    notices = rows(con, "SELECT subject, caused_by FROM enforcement_notices ORDER BY subject")
    assert notices == [{"subject": ROOT, "caused_by": None}, {"subject": CHILD, "caused_by": ROOT},
                       {"subject": GRANDCHILD, "caused_by": CHILD}], "one notice per revocation in the cascade"
    [report] = rows(con, "SELECT * FROM leak_reports")
    assert (report["fingerprint"], report["label"], report["reporter"], report["source_url"], report["found_in"],
            report["reported_by"], report["control_event_id"]) == (
        ROOT, "true_positive", "github:key-1", URL, "content", "service:github-secret-scanning", reported)


def test_a_leak_report_of_a_token_no_event_carried_is_kept_and_revokes_nothing(con):
    lineage_of_three(con)
    store_control(con, "*", leak(fp(99), label="false_positive"))
    project(con)
    assert rows(con, "SELECT label FROM leak_reports") == [{"label": "false_positive"}]
    assert rows(con, "SELECT * FROM policy_decisions") == [] and revocations(con) == {}


def test_a_leak_report_before_the_token_was_first_seen_revokes_nothing(con):
    store_control(con, "acme", leak(ROOT))
    lineage_of_three(con)
    project(con)
    assert revocations(con) == {}, "a report is judged by what the lineage knew at its place in the store order"


def test_a_second_report_of_a_reinstated_token_revokes_it_again(con):
    lineage_of_three(con)
    store_control(con, "acme", leak(ROOT))
    store_control(con, "acme", TokenReinstated(fingerprint=ROOT, tree=True), reason="a test token after all")
    second = store_control(con, "acme", leak(ROOT))
    project(con)
    in_force = rows(con, "SELECT subject, cause_event_id FROM enforcement_in_force ORDER BY subject")
    assert {row["subject"] for row in in_force} == {ROOT, CHILD, GRANDCHILD}
    assert {row["cause_event_id"] for row in in_force} == {second}
    assert len(rows(con, "SELECT * FROM policy_decisions")) == 2, "one decision per report"


def test_a_token_minted_below_a_revoked_token_at_any_depth_is_an_incident_revoked_at_its_own_place(con):
    lineage_of_three(con)
    store_control(con, "acme", TokenRevoked(fingerprint=ROOT), reason="root leaked; the child stays usable")
    store_events(con, [issue("e5", LATE_CHILD, GRANDCHILD, "scraper"), use("e6", CHILD, "researcher")])
    project(con)
    revoked = revocations(con)
    assert set(revoked) == {ROOT, LATE_CHILD}, "existing descendants stay usable; the lineage cannot grow"
    late = revoked[LATE_CHILD]
    assert (late["cause_event_id"], late["caused_by"], late["root"], late["rule_id"], late["decided_by"]) == (
        "e5", ROOT, ROOT, "revoked-lineage@v1", "policy:builtin")
    assert late["reason"] == f"minted from revoked token {ROOT} through token {GRANDCHILD}"
    [incident] = rows(con, "SELECT * FROM policy_decisions")
    assert (incident["rule_id"], incident["severity"], incident["subject"], incident["event_id"]) == (
        "revoked-lineage", "critical", LATE_CHILD, "e5")


def test_a_parent_named_only_after_a_tokens_first_use_is_not_its_minting(con):
    store_events(con, [issue("e1", ROOT, None, "planner"), use("e2", CHILD, "researcher")])
    store_control(con, "acme", TokenRevoked(fingerprint=ROOT))
    store_events(con, [issue("e3", CHILD, ROOT, "researcher")])
    project(con)
    assert set(revocations(con)) == {ROOT}, "CHILD existed before ROOT was revoked"
    [(parent_seq, first_seq)] = con.sql(
        f"SELECT parent_seq, first_seq FROM token_lineage WHERE fingerprint = '{CHILD}'").fetchall()
    assert parent_seq > first_seq, "the lineage keeps when the parent was named"


def story(con: duckdb.DuckDBPyConnection) -> None:
    """Leaks, a plain revocation, reinstatements, and the lineage growing below revoked tokens in between."""
    lineage_of_three(con)
    store_control(con, "acme", leak(CHILD))
    store_events(con, [issue("e5", LATE_CHILD, GRANDCHILD, "scraper"), use("e6", GRANDCHILD, "scraper")])
    store_control(con, "acme", TokenReinstated(fingerprint=GRANDCHILD), reason="rotated and checked")
    store_events(con, [issue("e7", fp(6), GRANDCHILD, "scraper"), issue("e8", fp(7), OTHER, "billing")])
    store_control(con, "acme", TokenRevoked(fingerprint=OTHER), reason="billing token leaked too")
    store_events(con, [issue("e9", fp(8), fp(7), "billing"), issue("e10", fp(9), fp(8), "billing")])
    store_control(con, "acme", TokenReinstated(fingerprint=CHILD, tree=True), reason="false positive")
    store_events(con, [issue("e11", fp(10), fp(6), "scraper")])


def projected(con: duckdb.DuckDBPyConnection) -> tuple[list[dict[str, Any]], ...]:
    return tuple(rows(con, f"SELECT * FROM {table} ORDER BY ALL") for table in (
        "enforcement", "token_lineage", "policy_decisions", "leak_reports"))


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7])
def test_leaks_and_incidents_replay_the_same_whatever_the_batch_size(con, batch_size):
    story(con)
    project(con, batch_size=5000)
    expected = projected(con)
    assert {row["subject"] for row in expected[0] if row["valid_to"] is None} == {OTHER, fp(8), fp(9)}
    project(con, batch_size=batch_size)
    assert projected(con) == expected


def test_a_version_4_store_is_migrated_and_its_cascades_name_their_parents(tmp_path: Path):
    db = tmp_path / "v4.duckdb"
    con = open_store(db)
    lineage_of_three(con)
    store_control(con, "acme", TokenRevoked(fingerprint=ROOT, tree=True), reason="leaked")
    project(con)
    con.execute("DROP VIEW enforcement_notices")  # as version 4 left it: without the columns of version 5
    con.execute("DROP VIEW enforcement_in_force")
    con.execute("ALTER TABLE enforcement DROP COLUMN caused_by")
    con.execute("ALTER TABLE token_lineage DROP COLUMN parent_seq")
    con.execute("ALTER TABLE token_lineage DROP COLUMN parent_known_at")
    con.execute("DROP TABLE leak_reports")
    con.execute("UPDATE store_meta SET value = '4' WHERE key = 'schema_version'")
    con.close()
    settings = load_settings(db=db)
    done = migrate(settings)
    assert done is not None and done.steps == ("leak_cascade", "sealed_subjects") and done.to_version == SCHEMA_VERSION
    con = open_store(db)
    assert [revocations(con)[t]["caused_by"] for t in (ROOT, CHILD, GRANDCHILD)] == [None, ROOT, CHILD]
    assert check_rebuild(con, default_projections(settings), batch_size=2) == []
    con.close()
