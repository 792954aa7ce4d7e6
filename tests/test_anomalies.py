"""Anomaly detectors on stored events: each kind fires on what it claims, once per episode, and not before.

Events are written straight into a real store in a chosen order and replayed
through the real projections (``tests/chain_events.py``), so a test controls
occurred_at minute by minute and the batch boundaries.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.config import load_settings
from agenttrail.consumers.store import open_store
from agenttrail.schemas.control import TenantRegionsSet
from tests.chain_events import T0, event, project, store_control, store_events

BASELINE_MINUTES = 20


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    store = open_store(tmp_path / "anomalies.duckdb")
    yield store
    store.close()


def at(minute: float, **fields: Any) -> dict[str, Any]:
    """One completed action ``minute`` minutes after T0 (ids in time order, so they read well in failures)."""
    tag = f"{fields.pop('tag', 'e')}{minute:09.4f}-{fields.pop('n', 0):04d}"
    return event(tag, occurred_at=T0 + timedelta(minutes=minute), **fields)


def steady(minutes: int = BASELINE_MINUTES, per_minute: int = 6, **fields: Any) -> list[dict[str, Any]]:
    """An agent's normal life: ``per_minute`` calls at 0.05 USD each, every minute."""
    return [at(m + i / per_minute, n=i, action_type="llm.call", cost_amount=Decimal("0.05"), cost_currency="USD",
               **fields) for m in range(minutes) for i in range(per_minute)]


def flags(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> list[dict[str, Any]]:
    rows = con.sql("SELECT * FROM anomaly_flags ORDER BY raised_seq, flag_id").to_arrow_table().to_pylist()
    return [row for row in rows if kind is None or row["kind"] == kind]


def test_a_runaway_loop_raises_one_spend_spike_that_grows_while_it_lasts(con: duckdb.DuckDBPyConnection) -> None:
    runaway = [at(BASELINE_MINUTES + i / 60, n=i, action_type="llm.call", cost_amount=Decimal("0.05"),
                  cost_currency="USD") for i in range(120)]  # 60 calls a minute for two minutes: 3.00 USD a minute
    store_events(con, [*steady(), *runaway])
    project(con)
    [spike] = flags(con, "spend_spike")
    assert spike["scope"] == "agent:billing-bot" and spike["tenant"] == "acme"
    assert spike["hits"] == 2, "the second minute extends the flag instead of raising another"
    # the bar: 4 x the usual 0.30 a minute (the MAD of a steady agent is 0); the 25th call passes it
    assert spike["first_seen"] == runaway[24]["occurred_at"]
    assert spike["summary"].startswith(
        "Agent billing-bot: 1.25 USD spent on llm.call in the 60 s from 2025-03-01 12:20:00 UTC")
    assert spike["summary"].endswith("past its bar of 1.2 (usual 0.3).")
    assert spike["severity"] == "critical" and spike["score"] > 1
    assert runaway[24]["event_id"] in spike["evidence_event_ids"]
    assert {f["kind"] for f in flags(con)} >= {"spend_spike", "rate_spike"}


def test_an_anomaly_never_becomes_its_own_baseline(con: duckdb.DuckDBPyConnection) -> None:
    def loop(start: int, tag: str) -> list[dict[str, Any]]:  # 300 actions a minute for four minutes
        return [at(start + i / 300, n=i, tag=tag, action_type="tool.call") for i in range(1200)]

    # four loud minutes among thirty would lift any quantile above the 85th: left out, they lift nothing
    again = loop(BASELINE_MINUTES + 6, "again")
    store_events(con, [*steady(), *loop(BASELINE_MINUTES, "first"), *again])
    project(con)
    [spike] = flags(con, "rate_spike")
    assert spike["last_seen"] >= again[0]["occurred_at"], "the second loop is judged against the normal minutes"
    assert spike["hits"] == 8


def test_a_slow_creep_raises_spend_drift_and_nothing_else(con: duckdb.DuckDBPyConnection) -> None:
    # an hour at 0.30 USD a minute, then half an hour of extra calls ramping up to twice that again
    creep = [at(60 + minute + j / 13, n=j, tag="creep", action_type="llm.call", cost_amount=Decimal("0.05"),
                cost_currency="USD") for minute in range(30) for j in range(round(12 * minute / 30))]
    store_events(con, [*steady(minutes=90), *creep])
    project(con)
    [drift] = flags(con, "spend_drift")
    assert {f["kind"] for f in flags(con)} == {"spend_drift"}, "no single minute stands out"
    assert T0 + timedelta(minutes=60) < drift["first_seen"] < T0 + timedelta(minutes=90)
    assert drift["summary"].endswith("(usual 1.5)."), "judged against the hour before the ramp"


def test_a_second_spree_is_flagged_although_buying_is_no_longer_new(con: duckdb.DuckDBPyConnection) -> None:
    def spree(start: int, tag: str) -> list[dict[str, Any]]:  # four plans in two minutes
        return [at(start + i / 2, n=i, tag=tag, action_type="subscription.activate", cost_amount=Decimal("29.00"),
                   cost_currency="USD") for i in range(4)]

    first, second = spree(30, "first"), spree(80, "second")
    store_events(con, sorted([*steady(minutes=90), *first, *second], key=lambda e: e["occurred_at"]))
    project(con)
    assert [f["first_seen"] for f in flags(con, "new_behaviour")] == [first[0]["occurred_at"]], "new only once"
    [burst] = flags(con, "sensitive_burst")
    assert burst["first_seen"] == second[2]["occurred_at"], "the third plan in ten minutes passes a floor of 2"
    assert burst["severity"] == "critical"


def test_a_spree_is_judged_against_its_own_kind_not_the_agents_everyday_registrations(
        con: duckdb.DuckDBPyConnection) -> None:
    # twelve domains every ten minutes is this agent's normal work; sixteen plans in four minutes is not
    domains = [at(m + i / 1.2, n=i, tag="domain", action_type="domain.register") for m in range(0, 90, 10)
               for i in range(12)]
    first = [at(20 + i / 4, n=i, tag="first", action_type="subscription.activate") for i in range(3)]
    second = [at(82 + i / 4, n=i, tag="second", action_type="subscription.activate") for i in range(16)]
    store_events(con, sorted([*steady(minutes=90), *domains, *first, *second], key=lambda e: e["occurred_at"]))
    project(con)
    [burst] = flags(con, "sensitive_burst")
    assert burst["first_seen"] == second[2]["occurred_at"], "purchases have a bar of their own: the floor of 2"
    assert "subscription.activate actions" in burst["summary"]


def test_an_agents_first_spree_of_a_kind_long_after_its_first_sensitive_action_is_judged_at_once(
        con: duckdb.DuckDBPyConnection) -> None:
    # one token an hour before: the spree's kind is new, but the agent's sensitive history is an hour old,
    # so the plans are judged against that hour of zeros, not left in a cold start of their own
    token = [at(0, tag="token", action_type="token.issue")]
    spree = [at(60 + i / 4, n=i, tag="spree", action_type="subscription.activate") for i in range(6)]
    store_events(con, sorted([*steady(minutes=70), *token, *spree], key=lambda e: e["occurred_at"]))
    project(con)
    [burst] = flags(con, "sensitive_burst")
    assert burst["first_seen"] == spree[2]["occurred_at"]


def test_normal_spend_raises_nothing(con: duckdb.DuckDBPyConnection) -> None:
    store_events(con, steady(minutes=60))
    project(con)
    assert flags(con) == []


def test_a_new_agent_is_judged_against_the_cold_start_ceiling(con: duckdb.DuckDBPyConnection) -> None:
    modest = [at(i / 10, n=i, agent_id="new-bot", action_type="llm.call", cost_amount=Decimal("400.00"),
                 cost_currency="USD") for i in range(10)]  # 4,000 USD in its first minute: under 5,000
    lavish = [at(5 + i / 10, n=i, agent_id="fresh-bot", action_type="llm.call", cost_amount=Decimal("600.00"),
                 cost_currency="USD") for i in range(10)]  # 6,000 USD
    store_events(con, [*modest, *lavish])
    project(con)
    assert [f["scope"] for f in flags(con, "spend_spike")] == ["agent:fresh-bot"]


def test_a_failure_burst_is_flagged_per_agent(con: duckdb.DuckDBPyConnection) -> None:
    denied = [at(BASELINE_MINUTES + i / 30, n=i, action_type="token.use", outcome="denied") for i in range(12)]
    store_events(con, [*steady(), *denied])
    project(con)
    [burst] = flags(con, "failure_burst")
    assert burst["scope"] == "agent:billing-bot" and "failures or denials" in burst["summary"]


def test_new_behaviour_is_flagged_only_after_the_agent_has_a_history(con: duckdb.DuckDBPyConnection) -> None:
    early = at(1.01, action_type="domain.register", resource_kind="domain", resource_id="x.example")
    late = [at(BASELINE_MINUTES + 0.5, action_type="subscription.activate", resource_kind="subscription",
               resource_id="sub_1"),
            at(BASELINE_MINUTES + 0.6, action_type="llm.call", resource_kind="api", resource_id="evil.example"),
            at(BASELINE_MINUTES + 0.7, action_type="subscription.activate", resource_kind="subscription",
               resource_id="sub_2")]
    chainless = at(BASELINE_MINUTES + 0.8, action_type="tool.call", actor_chain=[])  # as the SDK may send
    store_events(con, [*steady(), early, *late, chainless])
    project(con)
    [flag] = flags(con, "new_behaviour")
    assert flag["severity"] == "critical", "a new sensitive action is critical"
    assert flag["summary"] == "Agent billing-bot did subscription.activate for the first time."
    assert flag["hits"] == 4, "the new API and tool call join the episode, and so does the second subscription"
    assert flag["evidence_event_ids"] == [e["event_id"] for e in (*late, chainless)]


def test_a_new_behaviour_flag_holds_its_repeats_for_the_gap_and_then_closes(con: duckdb.DuckDBPyConnection) -> None:
    def spree(start: float, tag: str) -> list[dict[str, Any]]:  # four plans in two minutes
        return [at(start + i / 2, n=i, tag=tag, action_type="subscription.activate", cost_amount=Decimal("29.00"),
                   cost_currency="USD") for i in range(4)]

    first, soon, much_later = spree(30, "first"), spree(36, "soon"), spree(60, "later")
    store_events(con, sorted([*steady(minutes=70), *first, *soon, *much_later], key=lambda e: e["occurred_at"]))
    project(con)
    [flag] = flags(con, "new_behaviour")
    within_gap = [e for e in (*first, *soon) if e["occurred_at"] - first[0]["occurred_at"] <= timedelta(minutes=10)]
    assert flag["evidence_event_ids"] == [e["event_id"] for e in within_gap], "a second spree six minutes on"
    assert flag["last_seen"] == soon[-1]["occurred_at"] and flag["hits"] == 8
    assert flag["summary"] == "Agent billing-bot did subscription.activate for the first time."


def test_a_token_used_from_a_new_region_and_address_is_flagged(con: duckdb.DuckDBPyConnection) -> None:
    token = {"token_fingerprint": "hmac-sha256:k1:" + "ab" * 32, "action_type": "token.use"}
    home = [at(m, n=m, agent_region="eu-west-1", source_address="192.0.2.10", **token) for m in range(5)]
    abroad = at(6, agent_region="ap-southeast-2", source_address="203.0.113.99", **token)
    store_events(con, [*home, abroad])
    project(con)
    [flag] = flags(con, "token_origin")
    assert flag["scope"] == "token:" + token["token_fingerprint"] and flag["hits"] == 2
    assert flag["evidence_event_ids"] == [abroad["event_id"]]
    assert flag["summary"].startswith("Token hmac-sha256:k1:abab")  # of the first hit: the address, then the region
    assert flag["summary"].endswith("was used from address 203.0.113.99 for the first time, by agent billing-bot.")


def test_late_events_count_toward_their_minute_but_are_never_judged(con: duckdb.DuckDBPyConnection) -> None:
    late = [at(3 + i / 100, n=i, tag="late", action_type="llm.call", cost_amount=Decimal("9.00"), cost_currency="USD")
            for i in range(20)]  # 180 USD in minute 3, arriving after minute 19
    store_events(con, [*steady(), *late])
    project(con)
    assert flags(con, "spend_spike") == []


def test_flags_and_detector_state_do_not_depend_on_batch_boundaries(tmp_path: Path) -> None:
    start = 12  # minutes of history: enough for a baseline (min_history 10)
    runaway = [at(start + i / 40, n=i, action_type="llm.call", cost_amount=Decimal("0.07"),
                  cost_currency="USD", outcome="failure" if i % 3 else "success") for i in range(80)]
    deploys = [at(start + 3 + i / 5, n=i, tag="deploy", action_type="deploy.release", resource_kind="service",
                  resource_id="api") for i in range(6)]  # new, then repeated: the repeats extend its flag
    rows = [*steady(minutes=start, per_minute=3), *runaway, *deploys]
    # Hits stored out of occurred_at order: the second occurred 10 minutes before the first, the third 4 minutes
    # after the first. One episode whatever the batches: an episode goes on while a hit comes within the gap
    # (5 minutes) of the latest occurred_at before it, and its first_seen is its earliest hit.
    outside = [at(minute, n=n, tag="abroad", resource_kind="api", resource_id="x", resource_region="us-east-1")
               for n, minute in enumerate((40, 30, 44))]
    outside.insert(0, at(39, tag="home", resource_kind="api", resource_id="x", resource_region="eu-west-1"))
    # (in batches of 2 that places the first hit and the second in different batches)
    tables = []
    for batch_size in (2, 13, 5000):
        con = open_store(tmp_path / f"b{batch_size}.duckdb")
        store_events(con, rows)
        store_control(con, "acme", TenantRegionsSet(regions=["eu-west-1"]))
        store_events(con, outside)
        project(con, batch_size=batch_size)
        tables.append({table: con.sql(f"SELECT * FROM {table} ORDER BY ALL").to_arrow_table().to_pylist()
                       for table in ("anomaly_flags", "anomaly_buckets", "anomaly_series", "anomaly_origins",
                                     "anomaly_seen", "anomaly_keys")})
        con.close()
    assert tables[0] == tables[1] == tables[2]
    assert {row["kind"] for row in tables[0]["anomaly_flags"]} == {"spend_spike", "rate_spike", "failure_burst",
                                                              "new_behaviour", "region_violation"}
    [violation] = [row for row in tables[0]["anomaly_flags"] if row["kind"] == "region_violation"]
    assert (violation["hits"], violation["first_seen"]) == (3, outside[2]["occurred_at"])


def test_an_env_key_changes_one_detector_parameter_and_keeps_its_tuned_defaults(
        monkeypatch: pytest.MonkeyPatch) -> None:
    tuned = load_settings().anomalies.spend_drift
    monkeypatch.setenv("AGENTTRAIL_ANOMALIES__SPEND_DRIFT__K", "5")
    changed = load_settings().anomalies.spend_drift
    assert changed.k == 5
    assert changed.model_dump(exclude={"k"}) == tuned.model_dump(exclude={"k"}), "not the generic class defaults"
