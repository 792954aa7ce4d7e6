"""The SDK's revocation guard on a real broker: notices on the revocations topic refuse what they name.

Notices are published the way the materializer does (Avro on the compacted topic, keyed by
fingerprint or ``agent:<id>``); refused attempts are read back from the store, because
``used-after-revocation`` lists them from there.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import duckdb
import pytest

from agenttrail import AgentSuspendedError, Settings, TokenRevokedError, Trail
from agenttrail.config import load_settings
from agenttrail.kafka import ensure_topics, make_producer, send_and_wait
from agenttrail.producers.guard import Guard
from agenttrail.schemas.codec import revocation_codec
from tests.fixtures import FINGERPRINT_KEY, TrailFactory, materialize

ISSUED = datetime(2026, 11, 23, 22, 40, 32, tzinfo=UTC)


def notice(subject: str, status: str, *, kind: str = "token", rule_id: str | None = None,
           reason: str = "The token leaked in a public gist.") -> tuple[bytes, bytes]:
    """One RevocationNotice as the materializer publishes it: (Kafka key, value)."""
    record = {"notice_id": f"n-{uuid.uuid4().hex}", "issued_at": ISSUED, "tenant": "acme",
              "subject_kind": kind, "subject": subject, "status": status, "reason": reason,
              "rule_id": rule_id, "cause_event_id": f"e-{uuid.uuid4().hex}", "root": None}
    key = subject if kind == "token" else f"agent:{subject}"
    return key.encode(), revocation_codec().encode(record)


def publish(settings: Settings, *records: tuple[bytes, bytes | None]) -> None:
    producer = make_producer(settings, settings.bootstrap or "")
    assert all(send_and_wait(producer, settings.topic("revocations"), records, 10))
    producer.close(timeout=5)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def guarded(trail: Trail, records: int) -> Guard:
    """The trail's guard once it has read ``records`` records of the revocations topic."""
    guard = trail.guard
    assert guard is not None
    assert wait_until(lambda: guard.seen >= records), f"the guard read {guard.seen} of {records} notices"
    return guard


def test_a_revoked_token_is_refused_by_use_token_and_the_attempt_is_stored_as_denied(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory()
    raw = "ghp_" + "R" * 36
    fingerprint = trail.fingerprint(raw)
    publish(settings, notice(fingerprint, "revoked", rule_id="leaked-token"))
    guarded(trail, 1)
    ran_after_use = False
    with pytest.raises(TokenRevokedError) as refused, trail.action("tool.call", "push") as act:
        act.use_token(raw, issuer="github")
        ran_after_use = True
    assert not ran_after_use
    message = str(refused.value)
    assert fingerprint in message and "since 2026-11-23 22:40:32 UTC" in message
    assert "leaked in a public gist" in message and "rule leaked-token" in message and "obtain a new token" in message
    trail.flush(10)
    assert materialize(settings, store, until=1) == 1
    row = store.execute("SELECT outcome, error_code, error_message, token_fingerprint FROM events").fetchone()
    assert row == ("denied", "TokenRevokedError", message, fingerprint)


def test_a_token_minted_from_a_revoked_parent_is_refused(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    trail = trail_factory()
    parent, child = "ghp_" + "P" * 36, "ghp_" + "C" * 36
    publish(settings, notice(trail.fingerprint(parent), "revoked"))
    guard = guarded(trail, 1)
    assert guard.revoked(trail.fingerprint(child)) is None, "the child itself was never revoked"
    with pytest.raises(TokenRevokedError, match="was minted from token"), \
            trail.action("token.use", "call-github") as act:
        act.use_token(child, parent_token=parent)
    trail.flush(10)
    materialize(settings, store, until=1)
    assert store.execute("SELECT outcome, error_code, parent_token_fingerprint FROM events").fetchall() == [
        ("denied", "TokenRevokedError", trail.fingerprint(parent))]


def test_a_token_minted_below_a_revoked_token_at_any_depth_in_this_process_is_refused_before_the_issue_runs(
    trail_factory: TrailFactory, settings: Settings
) -> None:
    trail = trail_factory()
    root, child, grandchild = "ghp_" + "A" * 36, "ghp_" + "B" * 36, "ghp_" + "D" * 36
    for raw, parent in ((root, None), (child, root)):
        with trail.action("token.issue", "issue") as act:
            act.use_token(raw, parent_token=parent)
    publish(settings, notice(trail.fingerprint(root), "revoked"))  # the root alone: the child stays usable
    guard = guarded(trail, 1)
    with trail.action("token.use", "call-api") as act:
        act.use_token(child)
    issued = False
    with pytest.raises(TokenRevokedError, match="which descends from token") as refused, \
            trail.action("token.issue", "issue") as act:
        act.use_token(grandchild, parent_token=child)
        issued = True
    assert not issued and trail.fingerprint(root) in str(refused.value)
    assert guard.revoked(trail.fingerprint(grandchild)) is None, "refused from the lineage the guard remembers"


def test_a_suspended_agent_cannot_open_an_action_and_neither_can_its_delegate(
    trail_factory: TrailFactory, settings: Settings, store: duckdb.DuckDBPyConnection
) -> None:
    boss = trail_factory(agent_id="boss")
    publish(settings, notice("boss", "suspended", kind="agent", reason="Spent 3x its budget in an hour."))
    guarded(boss, 1)
    worker = boss.delegate("worker", "1.0.0")
    bystander = boss.for_agent(tenant="acme", agent_id="bystander", agent_version="1.0.0", region="eu-west-1",
                               principal="human:bob")
    ran: list[str] = []
    with pytest.raises(AgentSuspendedError, match="Agent boss is suspended since"), \
            boss.action("payment.send", "invoice-17"):  # fail_closed: refused before its started event
        ran.append("boss")
    with pytest.raises(AgentSuspendedError, match="Agent worker acts for agent boss, which is suspended"), \
            worker.action("tool.call", "search"):
        ran.append("worker")
    with bystander.action("tool.call", "search"):
        ran.append("bystander")
    assert ran == ["bystander"]
    boss.flush(10)
    assert materialize(settings, store, until=3) == 3
    rows = store.execute("SELECT agent_id, phase, outcome, error_code, actor_chain FROM events "
                         "ORDER BY agent_id").fetchall()
    assert [r[:4] for r in rows] == [("boss", "completed", "denied", "AgentSuspendedError"),
                                     ("bystander", "completed", "success", None),
                                     ("worker", "completed", "denied", "AgentSuspendedError")]
    assert [a["id"] for a in rows[2][4]] == ["worker", "boss"]


def test_a_reinstated_notice_lifts_a_revocation_and_a_suspension(
    trail_factory: TrailFactory, settings: Settings
) -> None:
    trail = trail_factory(agent_id="bot")
    raw = "ghp_" + "L" * 36
    publish(settings, notice(trail.fingerprint(raw), "revoked"), notice("bot", "suspended", kind="agent"))
    guard = guarded(trail, 2)
    with pytest.raises(AgentSuspendedError), trail.action("tool.call", "x"):
        pass
    publish(settings, notice("bot", "reinstated", kind="agent"))
    guarded(trail, 3)
    with pytest.raises(TokenRevokedError), trail.action("tool.call", "x") as act:
        act.use_token(raw)
    publish(settings, notice(trail.fingerprint(raw), "reinstated"))
    guarded(trail, 4)
    with trail.action("tool.call", "x") as act:
        act.use_token(raw)
    assert guard.revoked(trail.fingerprint(raw)) is None and guard.suspended("bot") is None


def test_garbage_on_the_revocations_topic_is_skipped_with_one_warning_each_and_the_guard_keeps_enforcing(
    trail_factory: TrailFactory, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="agenttrail.guard")
    trail = trail_factory()
    raw = "ghp_" + "G" * 36
    valid_key, valid = notice(trail.fingerprint(raw), "revoked")
    publish(settings, (b"junk", b"not avro at all"), (valid_key, valid[:-5]), (valid_key, valid))
    guard = guarded(trail, 3)
    assert guard.skipped == 2
    assert len([r for r in caplog.records if "undecodable" in r.getMessage()]) == 2
    with pytest.raises(TokenRevokedError), trail.action("tool.call", "x") as act:
        act.use_token(raw)


def test_a_tombstone_forgets_the_state_of_its_key(trail_factory: TrailFactory, settings: Settings) -> None:
    trail = trail_factory(agent_id="bot")
    key, value = notice("bot", "suspended", kind="agent")
    publish(settings, (key, value))
    guard = guarded(trail, 1)
    assert guard.suspended("bot") is not None
    publish(settings, (key, None))
    guarded(trail, 2)
    with trail.action("tool.call", "x"):
        pass


def test_the_guard_waits_for_a_missing_revocations_topic_and_then_follows_it(settings: Settings) -> None:
    fresh = load_settings(bootstrap=settings.bootstrap, fingerprint_key=FINGERPRINT_KEY,
                          topic_prefix=f"t{uuid.uuid4().hex[:12]}")
    guard = Guard(fresh, fresh.bootstrap or "")
    guard.start()
    try:
        assert not guard.wait_caught_up(1.5), "no topic yet, so nothing to catch up with"
        ensure_topics(fresh, fresh.bootstrap or "")
        publish(fresh, notice("agent-9", "suspended", kind="agent"))
        assert guard.wait_caught_up(30)
        assert wait_until(lambda: guard.suspended("agent-9") is not None)
    finally:
        guard.close()


def test_agenttrail_guard_false_turns_enforcement_off(
    settings_factory: Callable[..., Settings], trail_factory: TrailFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTTRAIL_GUARD", "false")
    unguarded = settings_factory()
    publish(unguarded, notice("bot", "suspended", kind="agent"))
    trail = trail_factory(settings_=unguarded, agent_id="bot")
    assert trail.guard is None
    with trail.action("tool.call", "x"):
        pass
