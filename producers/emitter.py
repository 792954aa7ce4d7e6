"""One per process: seals events into per-stream hash chains and gets them to Kafka.

Three durability modes (DESIGN.md):

* ``async``: ``submit`` only enqueues; a background thread seals, encodes and
  sends. While the broker is unreachable, events go to the disk spool and are
  delivered in order when it answers again. An agent crash can lose what is
  still queued in memory.
* ``durable``: the caller seals and appends to the spool before returning, so
  a crash loses nothing; the stable event_id deduplicates a resend.
* ``fail_closed``: the caller waits for the broker's ack and gets
  ``AuditUnavailableError`` if the event cannot be recorded: no audit, no action.

An event the contract refuses (too large, not schema-valid) is replaced in its
stream by a small ``audit.refused`` event, and events dropped because the spool
was full (or its disk could not be written) leave an ``audit.gap`` event once the
broker answers again, so neither is ever a silence.

Sealing also seals personal fields (``producers/keyring.py``) before the event is
encoded and hashed; a key made for a new subject puts its record ahead of the
event on the same path.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agenttrail._exceptions import (
    AgentTrailError,
    AuditUnavailableError,
    EventError,
    EventTooLargeError,
    SpoolError,
    SpoolFullError,
)
from agenttrail.config import Settings
from agenttrail.kafka import Producer, abandon_producer, make_producer, send_and_wait
from agenttrail.producers.derived_events import gap_event, refusal_event
from agenttrail.producers.keyring import Keyring
from agenttrail.producers.spool import Record, Spool
from agenttrail.schemas.codec import Codec, default_codec, is_subject_key

log = logging.getLogger("agenttrail.producer")

Mode = Literal["async", "durable", "fail_closed"]
MODES: tuple[Mode, ...] = ("async", "durable", "fail_closed")
SEND_CHUNK = 2000


@dataclass
class Refusal:
    """An event that could not enter the log, handed to the ``on_refused`` callback."""

    event_id: str
    reason: str
    error: AgentTrailError


@dataclass
class EmitterStats:
    submitted: int = 0
    acked: int = 0
    keys_acked: int = 0  # subject key records Kafka acknowledged (sent ahead of a person's first sealed event)
    spooled: int = 0
    refused: int = 0
    dropped: int = 0
    send_seconds: float = 0.0  # the sender's time in Kafka sends, waiting for acks included


@dataclass
class _Stream:
    seq: int = 0
    prev_hash: str | None = None
    dropped: list[dict[str, Any]] = field(default_factory=list)
    dropped_because: str = "spool_full"  # the audit.gap event's reason


class Emitter:
    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        *,
        spool: Spool,
        codec: Codec | None = None,
        on_refused: Callable[[Refusal], None] | None = None,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.topic = settings.topic("actions")
        self.stats = EmitterStats()
        self._codec = codec or default_codec()
        self._spool = spool
        self._on_refused = on_refused
        self.keyring = Keyring(settings)
        self._queue: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._streams: dict[str, _Stream] = {}
        self._gaps_pending = False  # some stream dropped events that no audit.gap event declares yet
        self._seal_lock = threading.Lock()
        self._producer_lock = threading.Lock()
        self._producer: Producer | None = make_producer(settings, bootstrap)
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._busy = False  # the sender holds events taken from the queue and not yet settled
        self._unreachable = False
        self._direct: Producer | None = None  # fail_closed's own producer, no linger
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="agenttrail-sender", daemon=True)
        self._thread.start()

    # -- the three modes -------------------------------------------------------------------------

    def submit(self, event: dict[str, Any]) -> None:
        """async: enqueue and return at once (the hot path: no encoding, no I/O)."""
        self.stats.submitted += 1
        self._queue.put(event)

    def submit_durable(self, event: dict[str, Any]) -> None:
        """durable: the event is on local disk when this returns; raises SpoolError (SpoolFullError when full)."""
        records = self._seal_or_refuse(event)
        try:
            self._spool.append(records)
        except SpoolError as exc:
            self.stats.dropped += 1
            self._remember_gap([event], records, exc)
            raise
        self.stats.submitted += 1
        self.stats.spooled += 1
        self._wake.set()

    def submit_durable_batch(self, events: list[dict[str, Any]]) -> list[Refusal]:
        """durable for many events at once: sealed in order and on local disk in one append.

        An event the contract refuses is replaced in its stream by an ``audit.refused`` event
        and returned. Raises SpoolFullError when the spool cannot take the batch: its sealed
        sequence numbers are then declared dropped by an ``audit.gap`` event, as in
        ``submit_durable``, and the caller may submit the events again.
        """
        refusals: list[Refusal] = []
        records = [record for event in events for record in self._seal_or_refuse(event, refusals)]
        try:
            self._spool.append(records)
        except SpoolFullError as exc:
            self.stats.dropped += len(events)
            self._remember_gap(None, records, exc)
            raise
        self.stats.submitted += len(events)
        self.stats.spooled += len(events)
        self._wake.set()
        return refusals

    def submit_fail_closed(self, event: dict[str, Any]) -> None:
        """fail_closed: returns once the broker acked; raises AuditUnavailableError otherwise.

        It has its own producer with no linger, so the ack is not queued behind
        the sender's async batches; and it refuses at once while the sender
        knows the broker is unreachable, instead of waiting out a timeout.
        """
        if self.degraded:
            raise AuditUnavailableError(
                f"The audit log at {self.bootstrap} is unreachable (events are being spooled), "
                "so this action was not run; retry when the broker is back."
            )
        try:
            records = self._seal(event, own_producer=True)
        except EventError as exc:
            self.submit(self._refusal(event, exc))  # the stream still says what was refused
            raise
        producer = self._fail_closed_producer()
        timeout = self.settings.delivery_timeout_ms / 1000
        if producer is None or not all(send_and_wait(producer, self.topic, records, timeout)):
            self._spool_or_drop([event], records)  # sealed, so it must still reach the log
            raise AuditUnavailableError(
                f"The audit log at {self.bootstrap} did not acknowledge the event in {timeout:g} s, "
                "so this action was not run; retry when the broker is back."
            )
        self._acknowledged(records)
        self.stats.submitted += 1
        self.stats.acked += 1

    # -- lifecycle -------------------------------------------------------------------------------

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted is acked (or refused); False on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while not self._is_idle():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.05))
                self._wake.set()
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Flush, stop the sender and close the producer; undelivered spool records stay on disk."""
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=self.settings.delivery_timeout_ms / 1000 + 5)
        with self._producer_lock:
            for producer in (self._producer, self._direct):
                if producer is not None:
                    producer.close(timeout=5)
            self._producer = self._direct = None
        self._spool.close()

    @property
    def degraded(self) -> bool:
        """True from a failed send until the spool delivers again: the broker is unreachable."""
        return self._unreachable

    def _is_idle(self) -> bool:
        return self._queue.empty() and not self._busy and self._spool.is_empty()

    # -- sealing ---------------------------------------------------------------------------------

    def _seal(self, event: dict[str, Any], *, own_producer: bool = False) -> list[Record]:
        """Give the event its place in its stream's hash chain, seal its personal fields and encode it.

        Returns its record, behind the records of any subject key it is the first to need on
        this path (``own_producer``: the fail-closed path's). Raises EventError without
        advancing the chain, so a refused event never leaves a hole in the sequence.
        """
        with self._seal_lock:
            stream = self._streams.setdefault(event["integrity"]["stream_id"], _Stream())
            event["integrity"]["seq"] = stream.seq
            event["integrity"]["prev_hash"] = stream.prev_hash
            sealed, key_ids = self.keyring.seal(event)
            value = self._codec.encode(sealed)
            if len(value) > self.settings.max_event_bytes:
                raise EventTooLargeError(
                    f"Event {event['event_id']} is {len(value)} bytes, above max_event_bytes="
                    f"{self.settings.max_event_bytes}; shorten its attributes or raise "
                    "AGENTTRAIL_MAX_EVENT_BYTES."
                )
            stream.seq += 1
            stream.prev_hash = hashlib.sha256(value).hexdigest()
            keys = self.keyring.records_for(key_ids, own_producer=own_producer) if key_ids else []
        return [*keys, (event["tenant"].encode("utf-8"), value)]

    def _seal_or_refuse(self, event: dict[str, Any], refusals: list[Refusal] | None = None) -> list[Record]:
        try:
            return self._seal(event)
        except EventError as exc:
            return self._seal(self._refusal(event, exc, refusals))

    def _refusal(self, event: dict[str, Any], exc: EventError,
                 refusals: list[Refusal] | None = None) -> dict[str, Any]:
        """Count and report a refused event (also into ``refusals``); returns the audit.refused event
        that takes its place."""
        self.stats.refused += 1
        refusal = Refusal(str(event.get("event_id")), str(exc), exc)
        if refusals is not None:
            refusals.append(refusal)
        if self._on_refused is not None:
            self._on_refused(refusal)
        return refusal_event(event, exc)

    # -- the sender thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while not (self._closed and self._queue.empty()):
            try:
                self._cycle()
            except Exception:
                log.exception("sender cycle failed; retrying")
                time.sleep(0.5)
            with self._idle:
                self._idle.notify_all()

    def _cycle(self) -> None:
        batch = self._take_batch()
        if batch:
            records = [record for event in batch for record in self._seal_or_refuse(event)]
            try:
                if self._spool.is_empty():
                    self._send_or_spool(records)
                else:
                    self._spool_or_drop(batch, records)
            finally:
                self._busy = False
        if not self._spool.is_empty():
            if not self._drain_spool():
                self._wake.wait(0.5)
                self._wake.clear()
        elif not batch:
            self._wake.wait(0.05)
            self._wake.clear()

    def _take_batch(self) -> list[dict[str, Any]]:
        self._busy = True  # before draining, so flush() never sees an empty queue and an idle sender
        batch: list[dict[str, Any]] = []
        try:
            while len(batch) < SEND_CHUNK:
                batch.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        self._busy = bool(batch)
        return batch

    def _send_or_spool(self, records: list[Record]) -> None:
        failed = self._send(records)
        self.stats.acked += _events(records) - _events(failed)
        if failed:
            self._spool_or_drop(None, failed)
        elif self._spool.is_empty():  # events dropped while the spool itself could take nothing
            self._emit_gaps()

    def _spool_or_drop(self, events: list[dict[str, Any]] | None, records: list[Record]) -> None:
        """Spool ``records``; when the spool is full or its disk fails, drop them and remember the gap."""
        try:
            self._spool.append(records)
            self.stats.spooled += _events(records)
        except SpoolError as exc:
            self.stats.dropped += _events(records)
            log.error("%s %d event(s) dropped; an audit.gap event will record it.", exc, _events(records))
            self._remember_gap(events, records, exc)

    def _drain_spool(self) -> bool:
        """Deliver spooled records in order; False if the broker still does not answer."""
        records, position = self._spool.read_pending(SEND_CHUNK)
        if self._send(records):
            return False
        self._spool.mark_delivered(position)
        self.stats.acked += _events(records)
        if self._spool.is_empty():
            self._emit_gaps()
        return True

    def _send(self, records: list[Record]) -> list[Record]:
        """Send and wait for acks; returns the records not acked within the delivery timeout."""
        producer = self._current_producer_or_none()
        if producer is None:
            return records
        started = time.perf_counter()
        acked = send_and_wait(producer, self.topic, records, self.settings.delivery_timeout_ms / 1000)
        self.stats.send_seconds += time.perf_counter() - started
        failed = [record for record, ok in zip(records, acked, strict=True) if not ok]
        self._unreachable = bool(failed)
        self._acknowledged([record for record, ok in zip(records, acked, strict=True) if ok])
        if failed:
            log.warning("broker %s did not ack %d event(s); spooling them", self.bootstrap, len(failed))
            self._drop_producer()
        return failed

    def _acknowledged(self, records: list[Record]) -> None:
        """Kafka acknowledged ``records``: their key records need never go again, and are counted."""
        self.keyring.acknowledged(records)
        self.stats.keys_acked += len(records) - _events(records)

    # -- the producer, recreated after an outage -------------------------------------------------

    def _current_producer_or_none(self) -> Producer | None:
        with self._producer_lock:
            if self._producer is None:
                try:
                    self._producer = make_producer(self.settings, self.bootstrap)
                except AgentTrailError:
                    return None
            return self._producer

    def _fail_closed_producer(self) -> Producer | None:
        with self._producer_lock:
            if self._direct is None:
                try:
                    self._direct = make_producer(self.settings, self.bootstrap, linger_ms=0)
                except AgentTrailError:
                    return None
            return self._direct

    def _drop_producer(self) -> None:
        """Abandon the producer so records it still holds are not sent behind the spool's back."""
        with self._producer_lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            abandon_producer(producer)

    # -- gaps ------------------------------------------------------------------------------------

    def _remember_gap(
        self, events: list[dict[str, Any]] | None, records: list[Record], exc: SpoolError
    ) -> None:
        self.keyring.lost(records)
        decoded = events if events is not None else [self._codec.decode(v) for _, v in records
                                                     if not is_subject_key(v)]
        with self._seal_lock:
            for event in decoded:
                stream = self._streams[event["integrity"]["stream_id"]]
                stream.dropped.append(event)
                stream.dropped_because = "spool_full" if isinstance(exc, SpoolFullError) else "spool_unwritable"
            self._gaps_pending = True

    def _emit_gaps(self) -> None:
        """Send an audit.gap event for each stream that dropped events since the last ones."""
        if not self._gaps_pending:
            return
        with self._seal_lock:
            self._gaps_pending = False
            gaps = [(list(st.dropped), st.dropped_because) for st in self._streams.values() if st.dropped]
            for st in self._streams.values():
                st.dropped.clear()
        for dropped, reason in gaps:
            self._send_or_spool(self._seal(gap_event(dropped, reason)))


def _events(records: list[Record]) -> int:
    """How many of ``records`` are events (the rest are subject keys sent ahead of them)."""
    return sum(not is_subject_key(value) for _, value in records)

