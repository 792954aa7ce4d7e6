"""Named queries and ad-hoc SQL against a real DuckDB store file."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from agenttrail._exceptions import (
    QueryError,
    QueryParameterError,
    ReadOnlyQueryError,
    UnknownQueryError,
)
from agenttrail.consumers.store import open_store, restrict_to_reading
from agenttrail.queries import get_query, list_queries, run_query, run_sql
from agenttrail.schemas.control import LeakReported, RetentionSet, TrailRead
from tests.chain_events import project, store_control

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # safely in the past, for relative --since
SHIPPED = {
    "trail",
    "imported_events",
    "export_events",
    "access_log",
    "events_by_tenant",
    "spend_by_agent",
    "quarantine",
    "actions_by_type",
    "delegations",
    "chain",
    "control_log",
    "locality_violations",
    "tenant_regions",
    "budgets",
    "budget_status",
    "alerts",
    "webhook_deliveries",
    "governance_summary",
    "chain_summary",
    "principal",
    "accountable",
    "versions",
    "actions_by_version",
    "anomalies",
    "used_after_revocation",
    "revocations",
    "token_status",
    "policy_decisions",
    "policy_sets",
    "trail_search",
    "event",
    "event_stream",
    "spend_over_time",
    "budget_forecast",
    "token_lineage",
    "tokens",
    "leak_reports",
    "erasures",
    "retention",
    "retention_runs",
}
REQUIRED_VALUES = {"event_id": "e1", "version": "1.0.0", "principal": "human:alice", "tenant": "acme",
                   "scope": "agent:billing-bot", "fingerprint": "hmac-sha256:k1:" + "0" * 64, "source": "cloudtrail"}
_seq = itertools.count(1)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = open_store(tmp_path / "t.duckdb")
    yield connection
    connection.close()


def add_event(con: duckdb.DuckDBPyConnection, event_id: str, **fields: Any) -> None:
    """INSERT one events row: plausible defaults, overridden by ``fields``."""
    seq = next(_seq)
    row: dict[str, Any] = {
        "store_seq": seq,
        "event_id": event_id,
        "received_at": T0,
        "occurred_at": T0,
        "tenant": "acme",
        "agent_id": "billing-bot",
        "agent_version": "1.0.0",
        "agent_region": "eu",
        "principal_kind": "human",
        "principal_id": "alice",
        "actor_chain": [{"kind": "agent", "id": "billing-bot"}],
        "trace_id": "0" * 32,
        "span_id": f"{seq:016x}",
        "parent_event_id": None,
        "action_type": "tool.call",
        "action_name": "send_invoice",
        "phase": "completed",
        "outcome": "success",
        "duration_us": 1500,
        "cost_amount": None,
        "cost_currency": None,
        "attributes": {},
        "stream_id": "stream-1",
        "stream_seq": seq,
        "event_hash": f"hash-{seq}",
        "schema_fingerprint": "fp",
        "kafka_topic": "agenttrail.events",
        "kafka_partition": 0,
        "kafka_offset": seq,
        "raw": b"\x00raw",
    }
    row.update(fields)
    casts = {
        "actor_chain": "::STRUCT(kind VARCHAR, id VARCHAR)[]",
        "attributes": "::MAP(VARCHAR, VARCHAR)",
        "cost_amount": "::DECIMAL(38, 9)",
    }
    placeholders = ", ".join(f"?{casts.get(column, '')}" for column in row)
    con.execute(
        f"INSERT INTO events ({', '.join(row)}) VALUES ({placeholders})", list(row.values())
    )


def add_quarantine(con: duckdb.DuckDBPyConnection, quarantine_id: int, reason: str) -> None:
    con.execute(
        "INSERT INTO quarantine VALUES (?, ?, 'agenttrail.events', 0, ?, ?, 'detail', NULL, "
        "'acme', 'secret bytes', 'ab12', false)",
        [quarantine_id, T0 + timedelta(minutes=quarantine_id), quarantine_id, reason],
    )


def add_region_rule(con: duckdb.DuckDBPyConnection, tenant: str, regions: list[str]) -> None:
    """A tenant.regions.set control event and the history row its projection writes."""
    seq, event_id = next(_seq), f"rule-{tenant}"
    con.execute(
        "INSERT INTO control_events VALUES (?, ?, ?, ?, ?, 'tenant.regions.set', 'human', 'carol', 'cli', "
        "'EU only', ?, 'ab12', 'agenttrail.control', 0, ?, 'raw')",
        [seq, event_id, T0, T0, tenant, json.dumps({"regions": regions}), seq],
    )
    con.execute("INSERT INTO tenant_regions VALUES (?, ?, ?, NULL, ?, NULL, 'human:carol', 'EU only', ?)",
                [tenant, regions, seq, T0, event_id])


def add_suspension(con: duckdb.DuckDBPyConnection, agent_id: str) -> None:
    """A policy set, its decision and the suspension it made, in force from before every event (as the policy
    and enforcement projections would have written them)."""
    con.execute("INSERT INTO policy_sets VALUES ('*', 'security', ?, 'rules: []', 1, 'active', NULL, 0, ?, NULL, "
                "NULL, 'human:sec', 'baseline', 'c0')", ["0" * 64, T0])
    con.execute("INSERT INTO policy_decisions VALUES ('looping@1:' || ?, 1, ?, 'acme', 'security', 'looping', 1, ?, "
                "'suspend_agent', 'enforce', 'critical', 'agent', ?, 'e1', 'looping')",
                [agent_id, T0, "0" * 64, agent_id])
    con.execute("INSERT INTO enforcement (subject_kind, subject, tenant, status, valid_from_seq, valid_from, reason, "
                "cause_event_id, decided_by) VALUES ('agent', ?, 'acme', 'suspended', 0, ?, 'looping', 'c1', "
                "'human:sec')", [agent_id, T0])


def add_budget_and_alert(con: duckdb.DuckDBPyConnection) -> None:
    """A budget version on agent:billing-bot and an alert it raised (as the budget projections write them)."""
    seq = next(_seq)
    con.execute(
        "INSERT INTO budgets VALUES ('acme', 'agent:billing-bot', 'agent', 'billing-bot', NULL, 1.00, 'USD', "
        "'month', [50, 100], 'suspend', ?, NULL, ?, NULL, 'human:carol', NULL, 'budget-rule')", [seq, T0])
    con.execute(
        "INSERT INTO alerts VALUES ('a1', ?, ?, 'acme', 'budget.threshold', 'warning', 'Budget reached 50%.', "
        "'agent:billing-bot', 'agent:billing-bot', ?, 50, 1.00, 0.60, NULL, 'USD', 'alert', "
        "[{'agent_id': 'billing-bot', 'spent': 0.60}], [{'trace_id': 'abc', 'spent': 0.60}], ['e1'])",
        [seq + 1, T0, T0.replace(tzinfo=None)])
    con.execute("INSERT INTO webhook_deliveries VALUES ('a1:ops', 'a1', 'ops', '{}', 'delivered', 1, ?, 200, NULL, "
                "?, ?)", [T0, T0, T0])


def add_erasure_and_retention_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """An erasure applied and a retention run's statement, as intake and the retention projection write them."""
    seq = next(_seq)
    con.execute("INSERT INTO erasures VALUES ('erase-1', ?, '*', ?, ?, ?, 2)",
                [seq, "hmac-sha256:k1:" + "1" * 64, T0, T0])
    con.execute("INSERT INTO retention_runs VALUES (?, 'acme', 1, ?, '30', ?, 3, 1, 3, ?, ?, 'key', 'digest', 'sig')",
                [run_id, seq + 1, T0.isoformat(), "0" * 64, T0.isoformat()])


@pytest.fixture
def populated(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A small, hand-written history: two tenants, a delegation, a three-level chain, a region rule."""
    add_region_rule(con, "acme", ["eu"])
    add_event(con, "e1", occurred_at=T0, cost_amount=Decimal("0.0007"), cost_currency="USD")
    add_event(con, "e2", occurred_at=T0 + timedelta(minutes=1), parent_event_id="e1",
              cost_amount=Decimal("0.0007"), cost_currency="USD", outcome="failure", data_region="us-east-1")
    add_event(con, "e3", occurred_at=T0 + timedelta(minutes=2), parent_event_id="e2",
              cost_amount=Decimal("0.0007"), cost_currency="USD", action_type="llm.call",
              actor_chain=[{"kind": "agent", "id": "billing-bot"},
                           {"kind": "agent", "id": "planner"},
                           {"kind": "human", "id": "alice"}])
    add_event(con, "e4", occurred_at=T0 + timedelta(minutes=3), parent_event_id="e1",
              outcome="denied")
    add_event(con, "other", occurred_at=T0 + timedelta(hours=1), tenant="globex",
              agent_id="billing-bot", cost_amount=Decimal("5"), cost_currency="EUR")
    add_event(con, "unrelated", occurred_at=T0 + timedelta(hours=2), agent_id="support-bot",
              token_fingerprint=REQUIRED_VALUES["fingerprint"])
    add_quarantine(con, 1, "undecodable")
    add_quarantine(con, 2, "secret_in_payload")
    store_control(con, "acme", LeakReported(fingerprint="hmac-sha256:k1:" + "0" * 64, reporter="human:sec-oncall",
                                            label="false_positive"))
    retention = store_control(con, "acme", RetentionSet(days=Decimal(30)))
    project(con)
    add_erasure_and_retention_run(con, retention)
    add_budget_and_alert(con)  # after the projections ran: as the budget projections would have written them
    add_suspension(con, "support-bot")
    store_control(con, "acme", TrailRead(method="GET", route="/v1/queries/{name}", path="/v1/queries/trail",
                                         params={"agent": "billing-bot"}, status=200, rows=4),
                  actor="service:anonymous", reason=None)  # a read through the server, as it records them
    return con


def required_params(name: str) -> dict[str, str | None]:
    return {p.name: REQUIRED_VALUES.get(p.name, "billing-bot") for p in get_query(name).params if p.required}


def test_the_shipped_queries_are_listed_with_their_parameters() -> None:
    infos = {q.name: q for q in list_queries()}
    assert set(infos) == SHIPPED
    trail = {p.name: p for p in infos["trail"].params}
    assert trail["agent"].required and trail["agent"].type == "text"
    assert trail["limit"].default == "1000" and not trail["limit"].required
    assert trail["since"].type == "timestamp"
    assert all(q.summary for q in infos.values())


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_query_is_one_select_using_exactly_its_declared_parameters(
    con: duckdb.DuckDBPyConnection, name: str
) -> None:
    info = get_query(name)
    statements = con.extract_statements(info.sql)
    assert [s.type for s in statements] == [duckdb.StatementType.SELECT]
    assert set(statements[0].named_parameters) == {p.name for p in info.params}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_query_runs_on_an_empty_store(con: duckdb.DuckDBPyConnection, name: str) -> None:
    result = run_query(con, name, required_params(name))
    assert isinstance(result, pa.Table)
    if name == "governance_summary":  # a row per count, every count zero
        assert set(result.column("count").to_pylist()) == {0}
    elif name == "token_status":  # an answer for any fingerprint: never seen, so not revoked
        assert result.select(["active", "known"]).to_pylist() == [{"active": True, "known": False}]
    else:
        assert result.num_rows == 0


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_query_returns_rows_on_a_populated_store(
    populated: duckdb.DuckDBPyConnection, name: str
) -> None:
    if name == "imported_events":  # an importer's stream, kept out of the history every other test counts
        add_event(populated, "imported", stream_id="cloudtrail/acme/run-1", action_type="aws.s3")
    assert run_query(populated, name, required_params(name)).num_rows > 0


def test_trail_lists_one_agents_actions_newest_first_with_readable_columns(
    populated: duckdb.DuckDBPyConnection,
) -> None:
    result = run_query(populated, "trail", {"agent": "billing-bot", "tenant": "acme"})
    assert result.column_names == [
        "occurred_at", "tenant", "agent_id", "agent_version", "action_type", "action_name",
        "phase", "outcome", "cost_amount", "cost_currency", "principal", "resource", "event_id",
    ]
    assert result.column("event_id").to_pylist() == ["e4", "e3", "e2", "e1"]
    assert result.column("principal").to_pylist()[0] == "human:alice"


def test_trail_filters_by_time_action_and_limit(populated: duckdb.DuckDBPyConnection) -> None:
    def ids(**params: str) -> list[str]:
        table = run_query(populated, "trail", {"agent": "billing-bot", **params})
        return list(table.column("event_id").to_pylist())

    assert ids(since="2025-03-01T12:01:00Z", until="2025-03-01T12:03:00Z") == ["e3", "e2"]
    assert ids(action="llm.call") == ["e3"]
    assert ids(limit="2") == ["other", "e4"]
    assert ids(since="1h") == []  # relative to now; the fixture events are long past
    assert len(ids(since="10000d")) == 5


def test_parameter_values_are_bound_not_spliced_into_sql(
    populated: duckdb.DuckDBPyConnection,
) -> None:
    injection = "x' OR '1'='1"
    assert run_query(populated, "trail", {"agent": injection}).num_rows == 0
    by_tenant = run_query(populated, "trail", {"agent": "billing-bot", "tenant": injection})
    assert by_tenant.num_rows == 0
    assert run_query(populated, "chain", {"event_id": injection}).num_rows == 0


def test_spend_is_summed_as_an_exact_decimal_per_agent_and_currency(
    populated: duckdb.DuckDBPyConnection,
) -> None:
    result = run_query(populated, "spend_by_agent", {"tenant": "acme"})
    assert pa.types.is_decimal(result.schema.field("spend").type)
    assert result.to_pylist() == [
        {"tenant": "acme", "agent_id": "billing-bot", "currency": "USD",
         "spend": Decimal("0.002100000"), "charged_events": 3},
    ]
    everyone = run_query(populated, "spend_by_agent", {})
    assert sorted(everyone.column("currency").to_pylist()) == ["EUR", "USD"]


def test_quarantine_lists_newest_first_without_the_raw_bytes(
    populated: duckdb.DuckDBPyConnection,
) -> None:
    result = run_query(populated, "quarantine", {})
    assert "raw" not in result.column_names and "raw_sha256" in result.column_names
    assert result.column("quarantine_id").to_pylist() == [2, 1]
    only = run_query(populated, "quarantine", {"reason": "undecodable", "limit": "5"})
    assert only.column("quarantine_id").to_pylist() == [1]


def test_actions_by_type_counts_failures_and_denials(populated: duckdb.DuckDBPyConnection) -> None:
    result = run_query(populated, "actions_by_type", {"tenant": "acme"})
    rows = {r["action_type"]: r for r in result.to_pylist()}
    assert rows["tool.call"] == {"action_type": "tool.call", "events": 4, "succeeded": 2,
                                 "failed": 1, "denied": 1, "agents": 2}
    assert rows["llm.call"]["events"] == 1


def test_events_by_tenant_counts_events_and_agents(populated: duckdb.DuckDBPyConnection) -> None:
    rows = {r["tenant"]: r for r in run_query(populated, "events_by_tenant", {}).to_pylist()}
    assert rows["acme"]["events"] == 5 and rows["acme"]["agents"] == 2
    assert rows["globex"]["first_occurred_at"] == T0 + timedelta(hours=1)


def test_delegations_pair_each_actor_with_who_delegated_to_it(
    populated: duckdb.DuckDBPyConnection,
) -> None:
    pairs = {
        (r["delegator_id"], r["delegate_id"]): r["events"]
        for r in run_query(populated, "delegations", {}).to_pylist()
    }
    assert pairs == {("alice", "planner"): 1, ("planner", "billing-bot"): 1}
    assert run_query(populated, "delegations", {"tenant": "globex"}).num_rows == 0


def test_chain_returns_ancestors_and_descendants_of_an_event(
    populated: duckdb.DuckDBPyConnection,
) -> None:
    result = run_query(populated, "chain", {"event_id": "e2"})
    rows = [(r["depth"], r["event_id"], r["parent_event_id"]) for r in result.to_pylist()]
    assert rows == [(0, "e1", None), (1, "e2", "e1"), (2, "e3", "e2"), (1, "e4", "e1")]
    assert result.column_names[:3] == ["depth", "event_id", "parent_event_id"]


def test_chain_stops_at_cycles_and_tenant_boundaries(con: duckdb.DuckDBPyConnection) -> None:
    add_event(con, "a", parent_event_id="b")
    add_event(con, "b", parent_event_id="a")
    add_event(con, "intruder", tenant="evil", parent_event_id="a")
    project(con)
    ids = run_query(con, "chain", {"event_id": "a"}).column("event_id").to_pylist()
    assert sorted(ids) == ["a", "b"]


def test_unknown_query_error_lists_the_queries(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(UnknownQueryError, match="trail") as caught:
        run_query(con, "../../etc/passwd", {})
    assert "chain" in str(caught.value)


def test_missing_parameter_error_names_it_and_the_querys_parameters(
    con: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(QueryParameterError, match="needs the parameter agent") as caught:
        run_query(con, "trail", {"tenant": "acme"})
    assert "limit (default 1000)" in str(caught.value)


def test_unknown_parameter_error_names_it_and_the_querys_parameters(
    con: duckdb.DuckDBPyConnection,
) -> None:
    with pytest.raises(QueryParameterError, match="'agnet'") as caught:
        run_query(con, "trail", {"agent": "x", "agnet": "y"})
    assert "agent (required)" in str(caught.value)


@pytest.mark.parametrize(
    ("param", "value"), [("limit", "ten"), ("limit", "-1"), ("since", "3 parsecs")]
)
def test_malformed_parameter_values_are_refused(
    con: duckdb.DuckDBPyConnection, param: str, value: str
) -> None:
    with pytest.raises(QueryParameterError, match=param):
        run_query(con, "trail", {"agent": "x", param: value})


def test_run_sql_returns_arrow_for_one_select(populated: duckdb.DuckDBPyConnection) -> None:
    result = run_sql(populated, "SELECT count(*) AS n FROM events;")
    assert result.to_pylist() == [{"n": 6}]


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM events",
        "SELECT 1; DROP TABLE events",
        "COPY events TO 'out.csv'",
        "ATTACH 'other.duckdb'",
        "PRAGMA version",
        "-- nothing here",
    ],
)
def test_run_sql_refuses_anything_but_one_select(
    populated: duckdb.DuckDBPyConnection, sql: str
) -> None:
    with pytest.raises(ReadOnlyQueryError):
        run_sql(populated, sql)
    assert populated.execute("SELECT count(*) FROM events").fetchone() == (6,)


def test_run_sql_refuses_reading_files_on_a_restricted_connection(tmp_path: Path) -> None:
    path = tmp_path / "t.duckdb"
    open_store(path).close()
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    con = open_store(path, read_only=True)
    restrict_to_reading(con)
    try:
        with pytest.raises(ReadOnlyQueryError):
            run_sql(con, f"SELECT * FROM read_csv('{secret}')")
        assert run_sql(con, "SELECT count(*) AS n FROM events").to_pylist() == [{"n": 0}]
    finally:
        con.close()


def test_run_sql_turns_a_bad_column_into_one_sentence(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError, match="nope") as caught:
        run_sql(con, "SELECT nope FROM events")
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".")


def test_run_sql_turns_a_syntax_error_into_a_query_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError, match="The SQL failed"):
        run_sql(con, "SELEC 1")


def test_every_query_runs_on_a_read_only_restricted_connection(tmp_path: Path) -> None:
    path = tmp_path / "t.duckdb"
    open_store(path).close()
    con = open_store(path, read_only=True)
    restrict_to_reading(con)
    try:
        for name in sorted(SHIPPED):
            expected = {"governance_summary": 6, "token_status": 1}.get(name, 0)
            assert run_query(con, name, required_params(name)).num_rows == expected
    finally:
        con.close()


def test_budget_forecast_projects_the_periods_spend_to_its_end(populated: duckdb.DuckDBPyConnection) -> None:
    as_of = "2025-03-11T00:00:00Z"  # a third of March gone, and nothing spent after T0
    [row] = run_query(populated, "budget_forecast", {"tenant": "acme", "as_of": as_of}).to_pylist()
    assert (row["scope"], row["period"], row["spent"]) == ("agent:billing-bot", "month", Decimal("0.002100000"))
    assert row["forecast"] == Decimal("0.006510") and row["forecast_pct"] == 0.7, "31 days at the rate of 10"
    assert row["crossed"] == [] and row["thresholds"] == [50, 100]


def test_trail_search_pages_by_keyset_with_every_filter(populated: duckdb.DuckDBPyConnection) -> None:
    first = run_query(populated, "trail_search", {"tenant": "acme", "limit": "2"}).to_pylist()
    assert [r["event_id"] for r in first] == ["unrelated", "e4"]
    last = first[-1]
    after = run_query(populated, "trail_search", {"tenant": "acme", "limit": "2", "before_seq": str(last["store_seq"]),
                                                  "before_at": last["occurred_at"].isoformat()}).to_pylist()
    assert [r["event_id"] for r in after] == ["e3", "e2"]
    assert [r["event_id"] for r in run_query(populated, "trail_search", {"outcome": "failure"}).to_pylist()] == ["e2"]
    assert [r["event_id"] for r in run_query(populated, "trail_search", {"region": "us-east-1"}).to_pylist()] == ["e2"]
    assert [r["event_id"] for r in run_query(populated, "trail_search", {
        "fingerprint": REQUIRED_VALUES["fingerprint"]}).to_pylist()] == ["unrelated"]
