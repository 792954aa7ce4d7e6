"""The fleet on its virtual clock, with labelled anomalies: the ground truth detectors are scored on.

One paced run with one instance of every kind goes through the real SDK, the embedded broker
and the Materializer; every property is then read back from DuckDB, as a detector would.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from agenttrail.broker import EmbeddedBroker
from agenttrail.config import Settings
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.store import open_store
from agenttrail.kafka import ensure_topics
from agenttrail.producers.catalogue import ADDRESS_RANGES, ROLES
from agenttrail.producers.fleet import Fleet, FleetReport
from agenttrail.producers.scenarios import KINDS, AnomalyShape, InjectedAnomaly
from tests.test_fleet import _driver, _one, _settings

EVENTS = 16_000
PACE = 20.0
# The defaults, but a creep short enough for a 13-minute run.
SHAPE = AnomalyShape(creep_minutes=(4.0, 6.0))
Run = tuple[Fleet, FleetReport, duckdb.DuckDBPyConnection]


def _us(moment: datetime) -> int:
    """Microseconds since the epoch: how the tests read occurred_at (``epoch_us``) back."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _one_of(report: FleetReport, kind: str) -> InjectedAnomaly:
    [anomaly] = [a for a in report.anomalies if a.kind == kind]
    return anomaly


def _per_minute(con: duckdb.DuckDBPyConnection, where: str, params: list[Any]) -> list[int]:
    """Events per whole minute, zero-filled, of the rows ``where`` selects."""
    rows = con.execute(f"""
        SELECT epoch_us(occurred_at) // 60000000 AS minute, count(*) FROM events
        WHERE {where} GROUP BY 1 ORDER BY 1""", params).fetchall()
    counts = dict(rows)
    return [counts.get(m, 0) for m in range(min(counts), max(counts) + 1)] if counts else []


@pytest.fixture(scope="module")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


def _paced(settings: Settings, broker: EmbeddedBroker, **fleet: Any) -> tuple[Fleet, FleetReport]:
    trail = _driver(settings)
    try:
        simulated = Fleet(trail, pace=PACE, **fleet)
        report = simulated.run(EVENTS, anomalies=1, shape=SHAPE)
        assert trail.flush(), "the emitter did not deliver everything to the broker"
    finally:
        trail.close()
    return simulated, report


@pytest.fixture(scope="module")
def paced(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """A seed-7 fleet at PACE with one anomaly of each kind, emitted and materialized into DuckDB."""
    settings = _settings(tmp_path_factory.mktemp("paced"), broker.bootstrap)
    ensure_topics(settings, broker.bootstrap)
    simulated, report = _paced(settings, broker, track_emits=True)
    con = open_store(settings.db)
    materializer = Materializer(settings, broker.bootstrap, con)
    materializer.start()
    try:
        for _ in range(400):
            if _one(con, "SELECT count(*) FROM events") >= report.events:
                break
            materializer.step()
    finally:
        materializer.close()
    yield simulated, report, con
    con.close()


def test_every_emitted_and_every_injected_event_is_stored(paced: Run) -> None:
    _, report, con = paced
    stored = {row[0] for row in con.execute("SELECT event_id FROM events").fetchall()}
    assert len(stored) == report.events and _one(con, "SELECT count(*) FROM quarantine") == 0
    assert set(report.emitted_wall) == stored, "every event's emission time is known, started ones too"
    injected = [event_id for a in report.anomalies for event_id in a.event_ids]
    assert len(injected) == len(set(injected)) and set(injected) <= stored


def test_paced_occurred_at_spans_events_over_pace_and_ends_in_the_past(paced: Run) -> None:
    _, _, con = paced
    first, last = con.execute("SELECT min(epoch_us(occurred_at)), max(epoch_us(occurred_at)) "
                              "FROM events").fetchone()  # type: ignore[misc]
    span = (last - first) / 1e6
    assert 0.85 * EVENTS / PACE < span < 1.15 * EVENTS / PACE
    assert last < _us(datetime.now(UTC)), "no event may be stamped in the consumer's future"


def test_occurred_at_never_repeats_in_a_stream_and_keeps_the_order_of_a_task(paced: Run) -> None:
    """Strictly increasing in the order the SDK stamped them. (Not in ``stream_seq`` order: the
    emitter seals fail-closed events in the caller's thread and async ones on its sender thread,
    so a stream's seq order can differ from its stamping order, on the wall clock too.)"""
    _, _, con = paced
    assert _one(con, "SELECT count(DISTINCT stream_id) FROM events") > 24
    assert _one(con, "SELECT count(*) - count(DISTINCT (stream_id, occurred_at)) FROM events") == 0
    assert _one(con, """SELECT count(*) FROM events child JOIN events parent
                        ON child.parent_event_id = parent.event_id AND parent.phase = 'completed'
                        WHERE child.phase = 'completed' AND child.occurred_at >= parent.occurred_at""") == 0
    assert _one(con, """SELECT count(*) FROM events done JOIN events started
                        ON done.attributes['started_event_id'] = started.event_id
                        WHERE started.occurred_at >= done.occurred_at""") == 0


def test_each_kind_is_injected_once_after_the_warm_up_without_overlap_on_an_agent(paced: Run) -> None:
    simulated, report, _ = paced
    assert sorted(a.kind for a in report.anomalies) == sorted(KINDS)
    assert simulated.clock is not None
    warm = simulated.clock.start + timedelta(seconds=SHAPE.warmup * EVENTS / PACE)
    assert all(a.start >= warm and a.start < a.end for a in report.anomalies)
    for one in report.anomalies:
        for other in report.anomalies:
            if one is not other and one.agent_id == other.agent_id:
                assert one.end < other.start or other.end < one.start


def test_the_ground_truth_window_is_the_stored_span_of_the_injected_events(paced: Run) -> None:
    _, report, con = paced
    for anomaly in report.anomalies:
        ids = list(anomaly.event_ids)
        first, last, tenants, agents = con.execute(
            "SELECT min(epoch_us(occurred_at)), max(epoch_us(occurred_at)), list(DISTINCT tenant), "
            "list(DISTINCT agent_id) FROM events WHERE event_id IN (SELECT unnest(?))", [ids]).fetchone()  # type: ignore[misc]
        assert (first, last) == (_us(anomaly.start), _us(anomaly.end)), anomaly.kind
        assert (tenants, agents) == ([anomaly.tenant], [anomaly.agent_id]), anomaly.kind


def test_same_seed_places_the_same_anomalies_and_another_seed_others(
        paced: Run, broker: EmbeddedBroker, tmp_path: Path) -> None:
    simulated, report, _ = paced
    settings = _settings(tmp_path, broker.bootstrap, topic_prefix="scenario-determinism")
    ensure_topics(settings, broker.bootstrap)
    start = datetime(2025, 3, 1, 12, tzinfo=UTC)
    again_fleet, again = _paced(settings, broker, start=start)
    _, other = _paced(settings, broker, start=start, seed=8)
    assert simulated.clock is not None and again_fleet.clock is not None

    def placed(r: FleetReport, origin: datetime) -> list[tuple[Any, ...]]:
        return [(a.kind, a.tenant, a.agent_id, a.token_fingerprint, a.start - origin, a.end - origin,
                 len(a.event_ids)) for a in r.anomalies]

    assert placed(again, start) == placed(report, simulated.clock.start)
    assert placed(other, start) != placed(again, start)
    assert again.actions == report.actions


def test_a_runaway_loop_multiplies_its_agents_event_rate_at_least_tenfold(paced: Run) -> None:
    _, report, con = paced
    loop = _one_of(report, "runaway_loop")
    before = _per_minute(con, "agent_id = ? AND occurred_at < make_timestamp(?)", [loop.agent_id, _us(loop.start)])
    in_window = _one(con, "SELECT count(*) FROM events WHERE agent_id = ? AND occurred_at "
                          "BETWEEN make_timestamp(?) AND make_timestamp(?)",
                     [loop.agent_id, _us(loop.start), _us(loop.end)])
    minutes = (loop.end - loop.start) / timedelta(minutes=1)
    assert len(before) >= 3 and in_window / minutes >= 10 * statistics.median(before[:-1])
    calls = con.execute("SELECT DISTINCT action_type, action_name, cost_amount FROM events WHERE event_id IN "
                        "(SELECT unnest(?)) AND action_type = 'llm.call'", [list(loop.event_ids)]).fetchall()
    assert len(calls) == 1, "the loop repeats one identical paid call"


def test_a_subscription_spree_comes_from_a_role_that_never_buys_subscriptions(paced: Run) -> None:
    _, report, con = paced
    spree = _one_of(report, "subscription_spree")
    role = next(r for r in ROLES if spree.agent_id.startswith(f"{r[0]}-"))
    assert "subscription.activate" not in role[3]
    bought_before = _one(con, "SELECT count(*) FROM events WHERE agent_id LIKE ? AND action_type = "
                              "'subscription.activate' AND occurred_at < make_timestamp(?)",
                         [f"{role[0]}-%", _us(spree.start)])
    activated = _one(con, "SELECT count(*) FROM events WHERE event_id IN (SELECT unnest(?)) AND action_type = "
                          "'subscription.activate' AND phase = 'completed'", [list(spree.event_ids)])
    assert bought_before == 0 and SHAPE.spree_subscriptions[0] <= activated <= SHAPE.spree_subscriptions[1]
    assert spree.end - spree.start <= timedelta(minutes=SHAPE.spree_minutes[1] * 1.5)


def test_a_leaked_token_is_used_from_a_region_and_a_source_never_seen_for_it(paced: Run) -> None:
    _, report, con = paced
    leak = _one_of(report, "leaked_token")
    assert leak.token_fingerprint is not None and leak.token_fingerprint.startswith("hmac-sha256:")
    seen = "SELECT DISTINCT {} FROM events WHERE token_fingerprint = ? AND occurred_at < make_timestamp(?)"
    during = ("SELECT DISTINCT {} FROM events WHERE event_id IN (SELECT unnest(?)) "
              "AND token_fingerprint = ?")
    for column in ("agent_region", "source_address"):
        before = {r[0] for r in con.execute(seen.format(column), [leak.token_fingerprint, _us(leak.start)]).fetchall()}
        used = {r[0] for r in con.execute(during.format(column), [list(leak.event_ids), leak.token_fingerprint])
                .fetchall()}
        assert before and used and not before & used, column
    outcomes = {r[0] for r in con.execute("SELECT DISTINCT outcome FROM events WHERE event_id IN (SELECT unnest(?))",
                                          [list(leak.event_ids)]).fetchall()}
    assert outcomes == {"success", "denied"}


def test_cost_creep_ramps_an_agents_spend_without_a_remarkable_minute(paced: Run) -> None:
    simulated, report, con = paced
    creep = _one_of(report, "cost_creep")
    assert simulated.clock is not None
    spend = ("SELECT coalesce(sum(cost_amount), 0) FROM events WHERE agent_id = ? AND cost_currency = 'USD' "
             "AND occurred_at BETWEEN make_timestamp(?) AND make_timestamp(?)")
    base = _one(con, spend, [creep.agent_id, _us(simulated.clock.start), _us(creep.start)])
    base_rate = base / Decimal((creep.start - simulated.clock.start).total_seconds())
    middle = creep.start + (creep.end - creep.start) / 2
    injected = spend + " AND event_id IN (SELECT unnest(?))"
    first = _one(con, injected, [creep.agent_id, _us(creep.start), _us(middle), list(creep.event_ids)])
    second = _one(con, injected, [creep.agent_id, _us(middle), _us(creep.end), list(creep.event_ids)])
    seconds = Decimal((creep.end - creep.start).total_seconds())
    # A ramp from 0 to (factor - 1) x base adds (factor - 1) / 2 x base on average; the second half 3x the first.
    assert 0.5 < (first + second) / seconds / base_rate < 2.0
    assert 2 * second > 3 * first
    per_minute = con.execute("""SELECT sum(cost_amount) FROM events WHERE event_id IN (SELECT unnest(?))
                                GROUP BY epoch_us(occurred_at) // 60000000""", [list(creep.event_ids)]).fetchall()
    target = (Decimal(SHAPE.creep_factor) - 1) * base_rate * 60
    assert max(m for (m,) in per_minute) < Decimal("1.5") * target, "it creeps up to its target, never jumps"


def test_every_agent_acts_from_one_documentation_address_per_region(paced: Run) -> None:
    _, report, con = paced
    leak = _one_of(report, "leaked_token")
    rows = con.execute("""SELECT agent_id, agent_region, list(DISTINCT unseal(source_address)) FROM events
                          WHERE event_id NOT IN (SELECT unnest(?)) GROUP BY ALL""", [list(leak.event_ids)]).fetchall()
    assert rows and all(len(addresses) == 1 for _, _, addresses in rows)
    assert all(addresses[0].rsplit(".", 1)[0] == ADDRESS_RANGES[region] for _, region, addresses in rows)


def test_a_token_is_used_from_one_region_in_normal_traffic(paced: Run) -> None:
    _, report, con = paced
    leaked = [list(_one_of(report, "leaked_token").event_ids)]
    roaming = _one(con, """SELECT count(*) FROM (SELECT token_fingerprint FROM events WHERE action_type = 'token.use'
                           AND event_id NOT IN (SELECT unnest(?)) GROUP BY 1
                           HAVING count(DISTINCT agent_region) > 1 OR count(DISTINCT agent_id) > 1)""", leaked)
    assert roaming == 0, "each sub-agent exchanges its own token; none is shared across regions"
    assert _one(con, "SELECT count(DISTINCT token_fingerprint) FROM events WHERE action_type = 'token.use' "
                     "AND len(actor_chain) > 1") > 1


def test_anomalies_refuse_to_run_on_the_wall_clock_or_without_room(broker: EmbeddedBroker, tmp_path: Path) -> None:
    settings = _settings(tmp_path, broker.bootstrap, topic_prefix="scenario-refusals")
    trail = _driver(settings)
    try:
        with pytest.raises(ValueError, match="pace"):
            Fleet(trail).run(100, anomalies=1)
        with pytest.raises(ValueError, match="does not fit"):
            Fleet(trail, pace=PACE).run(100, anomalies=1)
    finally:
        trail.close()
