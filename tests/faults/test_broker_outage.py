"""The broker stops answering mid-stream: events wait in the disk spool and arrive exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from agenttrail.broker import EmbeddedBroker
from agenttrail.consumers.store import open_store
from agenttrail.producers.trail import connect
from agenttrail.service import Pipeline
from tests.faults.outages import OUTAGES, Outage, outage_of
from tests.figures import Figure
from tests.fixtures import SettingsFactory, materialize, scaled


@pytest.fixture(params=OUTAGES)
def outage(request: pytest.FixtureRequest) -> Iterator[Outage]:
    """A private broker taken away by SIGSTOP (it hangs), by a proxy resetting every connection, or by SIGKILL."""
    with outage_of(request.param) as made:
        yield made


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.slow
def test_broker_unreachable_three_times_every_event_stored_exactly_once(
    kafka_client: str, outage: Outage, settings_factory: SettingsFactory, figure: Figure
) -> None:
    settings = settings_factory(bootstrap=outage.bootstrap, delivery_timeout_ms=1000)
    con = open_store(settings.db)
    pipeline = Pipeline(settings, outage.bootstrap, con).start()
    trail = connect(tenant="acme", agent_id="outage-agent", agent_version="1", region="eu-west-1",
                    principal="human:alice", settings=settings)
    per_step = scaled(500)
    emitted: list[str] = []

    def emit(count: int) -> None:
        for i in range(count):
            with trail.action("tool.call", f"call-{len(emitted)}") as act:
                act.set_attribute("i", str(i))
            emitted.append(act.event_id)

    spooled_per_outage = []
    for _ in range(3):
        emit(per_step)
        spooled_before = trail.emitter.stats.spooled
        outage.begin()
        emit(per_step)
        assert wait_for(lambda: trail.emitter.degraded, 20), "events never reached the spool"
        emit(per_step)  # keeps emitting while the broker is away
        outage.end()
        assert wait_for(lambda: not trail.emitter.degraded, 60), "the spool did not drain"
        spooled_per_outage.append(trail.emitter.stats.spooled - spooled_before)
    emit(per_step)
    assert trail.flush(60), "the spool did not drain after the broker came back"
    trail.close()
    assert pipeline.wait_until_stored(len(emitted), 60), pipeline.stats
    pipeline.stop()

    stored = [r[0] for r in con.execute("SELECT event_id FROM events").fetchall()]
    seqs = [r[0] for r in con.execute("SELECT stream_seq FROM events ORDER BY stream_seq").fetchall()]
    con.close()
    figure(f"{len(emitted):,} produced / {len(stored):,} stored / {len(stored) - len(set(stored))} duplicates "
           f"with the broker {outage.kind} 3 times (spooled per outage: {spooled_per_outage}; "
           f"{pipeline.stats.duplicates:,} resent copies dropped)")
    assert len(stored) == len(set(stored)) == len(emitted)
    assert set(stored) == set(emitted)
    assert seqs == list(range(len(emitted))), "the stream's hash chain has no hole"
    assert trail.emitter.stats.dropped == 0
    assert all(n > 0 for n in spooled_per_outage), "every outage went through the spool"


def test_fail_closed_action_refuses_to_run_while_the_broker_is_unreachable(
    kafka_client: str, pausable_broker: EmbeddedBroker, settings_factory: SettingsFactory, figure: Figure
) -> None:
    from agenttrail import AuditUnavailableError

    settings = settings_factory(bootstrap=pausable_broker.bootstrap, delivery_timeout_ms=800)
    trail = connect(tenant="acme", agent_id="buyer", agent_version="1", region="eu-west-1",
                    principal="human:alice", settings=settings)
    pausable_broker.pause()
    ran, asked = False, time.monotonic()
    try:
        with pytest.raises(AuditUnavailableError, match="not run"), trail.action("domain.register", "example.com"):
            ran = True
    finally:
        refused_after = time.monotonic() - asked
        pausable_broker.resume()
    figure(f"a fail_closed action with the broker paused: {'ran' if ran else 'not run'}, refused after "
           f"{refused_after:.1f} s (delivery timeout 0.8 s)")
    assert not ran, "no audit, no action"
    assert refused_after < 5, "refused within the delivery timeout, not kafka-python's 30 s bootstrap wait"
    assert trail.flush(20)
    trail.close(timeout=10)
    con = open_store(settings.db)
    materialize(settings, con, until=2)
    rows = con.execute("SELECT phase, outcome, error_code FROM events ORDER BY stream_seq").fetchall()
    con.close()
    assert rows == [("started", "pending", None), ("completed", "denied", "AuditUnavailableError")]
