"""The server as an emitter: spans from OTLP exporters sealed into hash-chained streams, each once.

``agenttrail serve`` is the emitter of what it ingests: one stream per tenant and agent
(service) for each server process, sealed and written to a local spool before the
exporter hears 200, then produced to Kafka by the SDK's sender, so the materializer's
exactly-once path applies as to any agent's events. Span event ids are derived from
(tenant, trace, span), but a span exported twice must not be sealed twice: its second
copy would carry another place in the stream, the materializer would quarantine it as a
conflicting duplicate and its stream would show a gap. So before sealing, ``Claims``
drops every span this process sealed already (held until the store has it) or the store
holds; and until the materializer has caught up with the log after a start, the ingest
answers "retry" (spans a previous process sent may not be stored yet).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from agenttrail._exceptions import IngestUnavailableError, SpoolFullError
from agenttrail.config import Settings
from agenttrail.producers.emitter import Emitter
from agenttrail.producers.ids import new_span_id
from agenttrail.producers.otel_spans import MappedSpans, SpanSource, map_request
from agenttrail.producers.spool import Spool
from agenttrail.schemas.codec import default_codec
from agenttrail.sql import text as sql

PRUNE_AT = 50_000  # claims held before the stored ones are let go (settle)
LOOKUP_CHUNK = 5_000
Lookup = Callable[[str, list[str], datetime, datetime], set[str]]


class Claims:
    """Event ids sealed by this process and not yet known to be stored, in front of the store's own ids."""

    def __init__(self, stored: Lookup, held: dict[str, tuple[str, datetime]] | None = None) -> None:
        self._stored = stored
        self._held: dict[str, tuple[str, datetime]] = dict(held or {})  # event id -> (tenant, occurred_at)
        self._lock = threading.Lock()
        self._settle_at = PRUNE_AT

    def __len__(self) -> int:
        return len(self._held)

    def claim(self, tenant: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events to seal: neither claimed before (in this call too) nor stored. They are claimed now."""
        with self._lock:
            fresh = []
            for event in events:
                if event["event_id"] not in self._held:
                    self._held[event["event_id"]] = (tenant, event["occurred_at"])
                    fresh.append(event)
        try:
            stored = self._lookup(tenant, [(e["event_id"], e["occurred_at"]) for e in fresh])
        except BaseException:
            self.release([event["event_id"] for event in fresh])  # not sealed: a resend must be taken
            raise
        if stored:
            self.release(stored)
        if len(self._held) > self._settle_at:  # not at every call while the store is behind: each settle queries
            self._settle_at = self.settle() + PRUNE_AT
        return [event for event in fresh if event["event_id"] not in stored]

    def release(self, ids: set[str] | list[str]) -> None:
        """Forget claims: the events are stored, or were never sealed after all."""
        with self._lock:
            for event_id in ids:
                self._held.pop(event_id, None)

    def settle(self) -> int:
        """Let go of the claims the store now has; returns how many are still on their way."""
        with self._lock:
            by_tenant: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
            for event_id, (tenant, at) in self._held.items():
                by_tenant[tenant].append((event_id, at))
        for tenant, held in by_tenant.items():
            self.release(self._lookup(tenant, held))
        return len(self._held)

    def _lookup(self, tenant: str, events: list[tuple[str, datetime]]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(events), LOOKUP_CHUNK):
            chunk = sorted(events[start:start + LOOKUP_CHUNK], key=lambda pair: pair[1])
            found |= self._stored(tenant, [event_id for event_id, _ in chunk], chunk[0][1], chunk[-1][1])
        return found


def stored_in(cursor_factory: Callable[[], duckdb.DuckDBPyConnection]) -> Lookup:
    """A Claims lookup on the server's own store; a store that cannot answer is a reason to retry (503)."""
    def lookup(tenant: str, ids: list[str], since: datetime, until: datetime) -> set[str]:
        try:
            with cursor_factory() as cursor:
                rows = cursor.execute(sql("stored_event_ids"), {"tenant": tenant, "ids": ids, "since": since,
                                                                "until": until}).fetchall()
        except duckdb.Error as exc:
            raise IngestUnavailableError(f"The store could not say which spans it holds ({type(exc).__name__}); "
                                         "retry shortly.") from None
        return {row[0] for row in rows}
    return lookup


@dataclass
class IngestResult:
    accepted: int  # sealed now
    duplicates: int  # sealed or stored before
    rejected: list[str]  # why each refused span was refused
    notes: set[str]


@dataclass
class IngestStats:
    requests: int = 0
    spans: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(("decode", "map", "dedupe", "seal"), 0.0))


class SpanIngest:
    """Maps, deduplicates and seals the spans of OTLP requests; ``ready`` says the materializer caught up."""

    def __init__(self, settings: Settings, bootstrap: str, lookup: Lookup, *, ready: Callable[[], bool]) -> None:
        self.settings = settings
        self._ready = ready
        self._skew = timedelta(seconds=settings.future_skew_s)
        self._nonce = new_span_id()  # a new process starts new streams: its sequence numbers start at 0
        self._spool = Spool(settings.ingest_spool_dir, settings.spool_max_bytes)
        self.claims = Claims(lookup, unsent_events(self._spool))
        self.emitter = Emitter(settings, bootstrap, spool=self._spool)
        self.stats = IngestStats()
        self._stats_lock = threading.Lock()

    def ingest(self, tenant: str, request: Any, peer: str | None, decode_s: float = 0.0) -> IngestResult:
        """Raises IngestUnavailableError (the exporter should retry) while starting or when the spool is full."""
        if not self._ready():
            raise IngestUnavailableError("The server is catching up with the log after its start; retry shortly.")
        clock = time.perf_counter
        t0 = clock()
        source = SpanSource(tenant, peer, datetime.now(UTC), self._skew,
                            lambda agent: f"otlp/{tenant}/{agent}/{self._nonce}")
        mapped: MappedSpans = map_request(request, source)
        t1 = clock()
        fresh = self.claims.claim(tenant, mapped.events)
        t2 = clock()
        try:
            refusals = self.emitter.submit_durable_batch(fresh) if fresh else []
        except SpoolFullError as exc:
            self.claims.release([event["event_id"] for event in fresh])
            raise IngestUnavailableError(f"{exc} Retry later.") from None
        t3 = clock()
        self.claims.release([refusal.event_id for refusal in refusals])  # not stored: refused again if resent
        result = IngestResult(len(fresh) - len(refusals), len(mapped.events) - len(fresh),
                              mapped.rejected + [f"a span was refused: {r.reason}" for r in refusals], mapped.notes)
        self._count(result, {"decode": decode_s, "map": t1 - t0, "dedupe": t2 - t1, "seal": t3 - t2})
        return result

    def snapshot(self) -> dict[str, Any]:
        """Counters and where the time went, for ``/v1/stats`` and the bench."""
        stats = self.stats
        return {"requests": stats.requests, "spans": stats.spans, "accepted": stats.accepted,
                "duplicates": stats.duplicates, "rejected": stats.rejected, "claims_held": len(self.claims),
                "seconds": {**stats.seconds, "produce": self.emitter.stats.send_seconds},
                "unsent_bytes": self._spool.pending_bytes,  # accepted and not yet acknowledged by Kafka
                "process_cpu_seconds": time.process_time()}  # the whole server's, materializer included

    def close(self) -> None:
        """What Kafka has not acknowledged by now stays in the spool, for the next start to send."""
        self.emitter.close(timeout=5)

    def _count(self, result: IngestResult, seconds: dict[str, float]) -> None:
        with self._stats_lock:
            stats = self.stats
            stats.requests += 1
            stats.spans += result.accepted + result.duplicates + len(result.rejected)
            stats.accepted += result.accepted
            stats.duplicates += result.duplicates
            stats.rejected += len(result.rejected)
            for phase, spent in seconds.items():
                stats.seconds[phase] += spent


def unsent_events(spool: Spool) -> dict[str, tuple[str, datetime]]:
    """The events a previous process spooled and Kafka has not acknowledged (event id -> tenant, occurred_at):
    claimed already, since the emitter delivers them."""
    records, _ = spool.read_pending(2**31)
    codec = default_codec()
    held = {}
    for _, value in records:
        event = codec.decode(value)
        held[event["event_id"]] = (event["tenant"], event["occurred_at"])
    return held
