"""The SDK's revocation guard: refuses revoked tokens and suspended agents before they act.

A background daemon thread follows the compacted revocations topic from the
beginning, with its own consumer assigned every partition (no consumer group:
the embedded broker's group joins take seconds). The newest notice per key is
the state: ``revoked`` or ``suspended`` until a ``reinstated`` notice (or a
tombstone) lifts it. Checks are dictionary lookups on the caller's thread, so
they cost the hot path nothing measurable and never wait for the broker.

It also remembers which token this process minted from which (``use_token`` with a
parent), so a token minted from a lineage with a revoked token at any depth is refused,
not only one whose parent is revoked: a tree revocation names every descendant in its own
notice, but revoking one token alone, or reinstating one in the middle, leaves its
descendants unnamed. What another process minted is judged by the store, which revokes
such a token at its own place (the built-in rule revoked-lineage); its notice follows.

It also follows the compacted erasures topic: a subject erased on the server makes
``on_erased(digest, tenant)`` drop that subject's data keys from the emitter's
keyring (``producers/keyring.py``), so what the agent records next is sealed
under a new key.

The guard is best effort by nature: it enforces what it has read. Right after
``start()`` it has read nothing, and ``wait_caught_up`` compares with the end
offsets the broker reported at start, which the embedded Tansu broker can
report a few hundred records short (DESIGN.md); so a notice published just
before start may arrive after ``wait_caught_up`` returned True. Undecodable
records are skipped with one warning each, and broker outages are retried
until ``close()``: the thread never dies.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from agenttrail._exceptions import AgentSuspendedError, BrokerError, DecodeError, TokenRevokedError
from agenttrail.config import Settings
from agenttrail.enforcement_state import EnforcementState
from agenttrail.kafka import Consumer, TopicPartition, make_consumer, map_kafka_errors, partitions_for
from agenttrail.schemas.codec import Codec, erasure_codec, revocation_codec

log = logging.getLogger("agenttrail.guard")

POLL_MS = 50
RETRY_S = 1.0
LINEAGE_MAX = 10_000  # tokens whose parent the guard remembers, the most recently minted
_DEPTH_MAX = 64  # ancestors walked: only a forged cycle of parents is deeper


class Guard:
    """Follows the revocations topic; ``check_token`` and ``check_agent`` raise a RevokedError."""

    def __init__(self, settings: Settings, bootstrap: str, *, state: EnforcementState | None = None,
                 accept: Callable[[dict[str, Any]], bool] | None = None,
                 on_erased: Callable[[str, str], object] | None = None) -> None:
        """``state`` and ``accept``: a shard's server follows the other shards' notices into its own
        in-force state (``accept`` keeps theirs and passes over its own, which it applies as it commits
        them); tombstones, which name no tenant, are then passed over too. ``on_erased(subject digest,
        tenant)`` hears every erasure notice."""
        self.settings = settings
        self.bootstrap = bootstrap
        self.topic = settings.topic("revocations")
        self.erasures_topic = settings.topic("erasures")
        self._on_erased = on_erased
        self.seen = 0  # records read from the topic, undecodable ones included
        self.skipped = 0  # records that could not be decoded
        self._state = state if state is not None else EnforcementState()
        self._accept = accept
        self._parents: OrderedDict[str, str] = OrderedDict()  # token -> the token it was minted from, this process
        self._lineage_lock = threading.Lock()
        self._positions: dict[TopicPartition, int] = {}  # next offset per partition, kept across reconnects
        self._targets: dict[TopicPartition, int] | None = None  # end offsets seen at the first assignment
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._failing = False  # warned about an outage that has not ended yet
        self._thread = threading.Thread(target=self._run, name="agenttrail-guard", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start following the topic; returns at once (see ``wait_caught_up``)."""
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread; safe to call twice, and on a guard never started."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait_caught_up(self, timeout: float) -> bool:
        """True once every partition was read up to its end offset at start; False on timeout.

        Best effort: the embedded broker's end offsets can lag what it acked, so a
        True here does not prove a notice published just before start was read.
        """
        return self._caught_up.wait(timeout)

    # -- checks ----------------------------------------------------------------------------------

    @property
    def in_force(self) -> bool:
        """True while any token or agent is refused: the hot path skips every check otherwise."""
        return bool(self._state)

    def revoked(self, fingerprint: str) -> dict[str, Any] | None:
        """The notice that revokes this token fingerprint, or None when it is usable."""
        return self._state.revoked(fingerprint)

    def suspended(self, agent_id: str) -> dict[str, Any] | None:
        """The notice that suspends this agent, or None when it may act."""
        return self._state.suspended(agent_id)

    def check_token(self, fingerprint: str, *, parent: str | None = None) -> None:
        """Raise TokenRevokedError when the token, or any token it descends from, is revoked.

        ``parent`` is the token it was minted from; once the check passes, the guard remembers
        it, so the tokens minted from this one later are judged by their whole lineage.
        """
        if notice := self.revoked(fingerprint):
            raise TokenRevokedError(f"Token {fingerprint} {_since(notice)}; stop using it and obtain "
                                    "a new token from its issuer.")
        if parent is None:
            return
        for depth, ancestor in enumerate(self._ancestors(parent)):
            if notice := self.revoked(ancestor):
                through = f"token {parent}, which descends from token {ancestor}" if depth else f"token {parent}"
                raise TokenRevokedError(f"Token {fingerprint} was minted from {through}, which {_since(notice)}; "
                                        "the lineage is revoked: stop using it and obtain a new token from its "
                                        "issuer.")
        with self._lineage_lock:
            self._parents[fingerprint] = parent
            self._parents.move_to_end(fingerprint)
            if len(self._parents) > LINEAGE_MAX:
                self._parents.popitem(last=False)

    def _ancestors(self, parent: str) -> list[str]:
        """``parent`` and the tokens above it, as far as this process minted them."""
        found = [parent]
        with self._lineage_lock:
            while len(found) < _DEPTH_MAX and (above := self._parents.get(found[-1])) is not None:
                found.append(above)
        return found

    def check_agent(self, agent_id: str, *, delegated_by: Sequence[str] = ()) -> None:
        """Raise AgentSuspendedError when the agent, or any agent that delegated to it, is suspended."""
        if notice := self.suspended(agent_id):
            raise AgentSuspendedError(f"Agent {agent_id} {_since(notice)}; its actions are refused until "
                                      "an operator reinstates it.")
        for delegator in delegated_by:
            if notice := self.suspended(delegator):
                raise AgentSuspendedError(
                    f"Agent {agent_id} acts for agent {delegator}, which {_since(notice)}; its delegates' "
                    "actions are refused until an operator reinstates it.")

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except BrokerError as exc:
                if not self._failing:
                    log.warning("revocation guard cannot follow %s (%s); retrying every %g s",
                                self.topic, exc, RETRY_S)
                self._failing = True
                self._stop.wait(RETRY_S)
            except Exception:  # unforeseen: say so loudly, but the guard must outlive it
                log.exception("revocation guard failed on %s; restarting it in %g s", self.topic, RETRY_S)
                self._stop.wait(RETRY_S)

    def _follow(self) -> None:
        consumer = make_consumer(self.settings, self.bootstrap, fetch_max_wait_ms=POLL_MS)
        try:
            with map_kafka_errors(self.bootstrap):
                parts = partitions_for(consumer, self.topic)
                if not parts:
                    raise BrokerError(f"Topic {self.topic} does not exist yet; `agenttrail serve` creates it.")
                if self._on_erased is not None:  # absent on a broker set up by an older release: nothing erased
                    parts += partitions_for(consumer, self.erasures_topic)
                consumer.assign(parts)
                for tp in parts:
                    if tp in self._positions:
                        consumer.seek(tp, self._positions[tp])
                    else:
                        consumer.seek_to_beginning(tp)
                if self._targets is None:
                    self._targets = consumer.end_offsets(parts)
            if self._failing:
                log.info("revocation guard follows %s again", self.topic)
                self._failing = False
            while not self._stop.is_set():
                self._poll(consumer)
        finally:
            consumer.close()

    def _poll(self, consumer: Consumer) -> None:
        with map_kafka_errors(self.bootstrap):
            polled = consumer.poll(timeout_ms=POLL_MS)
        for tp, records in polled.items():
            for record in records:
                self._positions[tp] = record.offset + 1  # first, so a poison record is never re-read
                self.seen += 1
                self._apply(tp, record.offset, record.key, record.value)
        targets = self._targets or {}
        if not self._caught_up.is_set() and all(self._positions.get(tp, 0) >= end for tp, end in targets.items()):
            self._caught_up.set()

    def _apply(self, tp: TopicPartition, offset: int, key: bytes | None, value: bytes | None) -> None:
        if tp.topic == self.erasures_topic:
            erasure = self._decoded(erasure_codec(), tp, offset, value)
            if erasure is not None and self._on_erased is not None:
                self._on_erased(erasure["subject_digest"], erasure["tenant"])
            return
        if value is None:  # a tombstone: the key has no state any more
            if self._accept is None:
                self._state.forget((key or b"").decode("utf-8", "replace"))
            return
        notice = self._decoded(revocation_codec(), tp, offset, value)
        if notice is not None and (self._accept is None or self._accept(notice)):
            self._state.apply([notice])

    def _decoded(self, codec: Codec, tp: TopicPartition, offset: int, value: bytes | None) -> dict[str, Any] | None:
        """The record's notice; None (skipped, with one warning) when it is a tombstone or cannot be read."""
        if value is None:
            return None
        try:
            return codec.decode(value)
        except DecodeError as exc:
            self.skipped += 1
            log.warning("guard skipped the undecodable record %s[%d]@%d: %s", tp.topic, tp.partition, offset, exc)
            return None


def _since(notice: dict[str, Any]) -> str:
    """``is revoked since 2026-11-23 22:40:32 UTC (reason, rule r-1)``: the middle of a refusal sentence."""
    why = str(notice["reason"]).rstrip(". ")
    if notice.get("rule_id"):
        why += f", rule {notice['rule_id']}"
    return f"is {notice['status']} since {notice['issued_at']:%Y-%m-%d %H:%M:%S} UTC ({why})"
