"""Events out of order and late: children stored before their parents, and a day's trail arriving a day late.

Agents emit a child before its parent (a ``with`` block ends inside its parent's); a laptop that
was offline, or a replay, delivers yesterday's events today. Through the real broker and
materializer, nothing of that may be lost or counted in the wrong place: every child joins its
parent's chain whenever the parent arrives, late spend counts in its own day and is listed as
late, and the projections equal a replay of the stored events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import duckdb

from agenttrail import AgentAction, Settings, Trail
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import check_rebuild
from agenttrail.producers.ids import new_event_id, new_span_id, new_trace_id
from agenttrail.producers.trail import connect
from tests.figures import Figure
from tests.fixtures import materialize, scaled, stored_count

LATE = timedelta(hours=26)  # past the end of yesterday (UTC) whenever the test runs


def test_children_before_parents_and_a_day_late_trail_are_linked_and_counted_in_their_own_day(
    settings: Settings, store: duckdb.DuckDBPyConnection, figure: Figure
) -> None:
    now = datetime.now(UTC)
    late_clock = _ticking(now - LATE)
    on_time = connect(tenant="acme", agent_id="on-time", agent_version="1", region="eu-west-1",
                      principal="human:alice", settings=settings)
    offline = on_time.for_agent(tenant="acme", agent_id="was-offline", agent_version="1", region="eu-west-1",
                                principal="human:alice", clock=late_clock)
    chains, orphans = scaled(200), scaled(50)
    for i in range(chains):  # each child completes, and is sent, before its parent
        with on_time.action("agent.run", f"task-{i}"), on_time.action("agent.plan", "plan"), \
                on_time.action("llm.call", "draft") as act:
            act.set_cost("0.010000000", "USD")
    parents = [new_event_id() for _ in range(orphans)]
    for parent in parents:  # yesterday's children, whose parents come in a later batch still
        for _ in range(3):
            offline.emit(_late_event(offline, late_clock(), "llm.call", parent=parent, cost="0.020000000"))
    assert on_time.flush(30)
    early = 3 * chains + 3 * orphans
    assert materialize(settings, store, until=early) == early
    waiting = stored_count(store, "chain_pending")
    for parent in parents:
        offline.emit(_late_event(offline, late_clock() - timedelta(seconds=5), "agent.run", event_id=parent))
    on_time.close()
    assert materialize(settings, store, until=early + orphans) == early + orphans

    [(linked, still_pending, late_rows, late_total, late_days)] = store.execute(
        "SELECT (SELECT count(*) FROM chain_nodes WHERE len(path) > 1), "
        "(SELECT count(*) FROM chain_pending), (SELECT count(*) FROM late_spend), "
        "(SELECT sum(amount) FROM late_spend), (SELECT list(DISTINCT day) FROM late_spend)").fetchall()
    rollups = dict(store.execute("SELECT root_id, events FROM chain_rollups").fetchall())
    differences = check_rebuild(store, default_projections(settings), batch_size=113)
    figure(f"{early + orphans:,} events: {chains:,} chains sent child first, {3 * orphans} children stored "
           f"{LATE.total_seconds() / 3600:.0f} h late and a batch before their parents: {early + orphans:,} stored / "
           f"{linked:,} linked to their parents ({waiting} waited, {still_pending} still waiting) / {late_rows} late "
           f"charges counted in their own day; rebuild --check {differences or 'equal'}")
    assert waiting == 3 * orphans, "a child whose parent is missing waits as a root"
    assert (linked, still_pending) == (2 * chains + 3 * orphans, 0), "every child joined its parent's chain"
    assert all(rollups[parent] == 4 for parent in parents) and len(rollups) == chains + orphans
    assert (late_rows, late_total) == (3 * orphans, Decimal("0.06") * orphans)
    assert late_days == [(now - LATE).date()], "late spend counts in the day it happened"
    assert not differences


def _ticking(start: datetime) -> Callable[[], datetime]:
    """A clock from ``start`` that moves a millisecond per reading."""
    ticks: Iterator[int] = count()
    return lambda: start + timedelta(milliseconds=next(ticks))


def _late_event(trail: Trail, at: datetime, action_type: str, *, parent: str | None = None,
                event_id: str | None = None, cost: str | None = None) -> AgentAction:
    return AgentAction(
        event_id=event_id or new_event_id(), occurred_at=at, tenant=trail.tenant, agent=trail.agent,
        principal=trail.principal, trace_id=new_trace_id(), span_id=new_span_id(), parent_event_id=parent,
        action={"type": action_type, "name": "offline-work"},
        cost={"amount": cost, "currency": "USD"} if cost else None,
        integrity={"stream_id": trail.stream_id, "seq": 0})
