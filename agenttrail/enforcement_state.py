"""What is in force now, from revocation notices: the state the SDK guard and the status endpoint read.

A notice (``schemas/revocation.v1.avsc``) starts a revocation or suspension, or
lifts one (``reinstated``); the newest notice per key is the state, which is
why the revocations topic is compacted on the same key. The guard fills this
from the topic; ``agenttrail serve`` fills it from the notices each committed
batch raised, so ``GET /v1/tokens/{fingerprint}`` answers from memory what
DuckDB holds, without a query that competes with the materializer for the
database's threads. Lookups are single dictionary reads, safe beside the one
thread that applies notices.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def notice_key(notice: dict[str, Any]) -> str:
    """The fingerprint for a token, ``agent:<id>`` for an agent: the topic's key and this state's."""
    return str(notice["subject"]) if notice["subject_kind"] == "token" else f"agent:{notice['subject']}"


class EnforcementState:
    """The notice in force per token fingerprint and per agent; reinstated subjects have none."""

    def __init__(self) -> None:
        self._in_force: dict[str, dict[str, Any]] = {}

    def __bool__(self) -> bool:
        """True while anything is refused: the SDK's hot path skips every check otherwise."""
        return bool(self._in_force)

    def apply(self, notices: Iterable[dict[str, Any]]) -> None:
        """Apply notices in the order they were raised."""
        for notice in notices:
            if notice["status"] == "reinstated":
                self._in_force.pop(notice_key(notice), None)
            else:
                self._in_force[notice_key(notice)] = notice

    def forget(self, key: str) -> None:
        """Drop a key's state (a tombstone on the compacted topic)."""
        self._in_force.pop(key, None)

    def revoked(self, fingerprint: str) -> dict[str, Any] | None:
        """The notice that revokes this token fingerprint, or None when it is usable."""
        return self._in_force.get(fingerprint)

    def suspended(self, agent_id: str) -> dict[str, Any] | None:
        """The notice that suspends this agent, or None when it may act."""
        return self._in_force.get(f"agent:{agent_id}")
