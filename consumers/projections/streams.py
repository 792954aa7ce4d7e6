"""Completeness of every emitter stream: gaps (missing sequence numbers) and breaks (links that do not hold).

The SDK numbers each stream's events from 0 and chains them by the SHA-256 of the
previous event's bytes (``integrity.stream_id/seq/prev_hash``). Events of one
stream can arrive out of order (fail_closed events use a second producer; a spool
drains later), so a gap is *opened* when a seq above the stream's running maximum
is stored and *closed* when its last missing seq arrives: both happen at a
store_seq, so the tables depend only on store order, never on batch boundaries.

What the producer declared dropped (``audit.gap`` events) is kept beside the gaps,
not merged into them, so a report can tell declared gaps from undeclared ones even
when the declaration arrives after the gap was noticed. Every step is one
set-based statement over the batch (``consumers/sql/streams_*.sql``).
"""

from __future__ import annotations

import duckdb
import pyarrow.compute as pc

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.store import sql

_COLUMNS = ["store_seq", "event_id", "stream_id", "stream_seq", "prev_hash", "event_hash",
            "action_type", "attributes"]
# Order matters: neighbours first (later steps read them), gaps opened before the batch fills them,
# heads advanced last (opening reads the maximum from before the batch).
_STEPS = ("streams_breaks", "streams_declarations", "streams_open_gaps", "streams_fill_gaps", "streams_heads")


class StreamIntegrity:
    """Records gaps and breaks of every emitter's hash chain as each batch is stored."""

    name = "streams"
    tables = ("stream_heads", "stream_gaps", "stream_gap_declarations", "stream_breaks")

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        if batch.events.num_rows == 0:
            return
        events = batch.events.select(_COLUMNS)
        first = pc.min(events.column("store_seq")).as_py()
        tx.register("stream_batch", events)
        try:
            tx.execute(sql("streams_nearby"), {"first_store_seq": first})
            for step in _STEPS:
                tx.execute(sql(step))
        finally:
            tx.unregister("stream_batch")
