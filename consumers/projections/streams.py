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

The stream fields are the sender's to set, so no input may cost more than a row
per event: a seq's first stored copy holds it, and every link and every duplicate
is judged against that holder (``streams_breaks.sql``), never against each copy.
"""

from __future__ import annotations

import duckdb
import pyarrow.compute as pc

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.scripts import scalar
from agenttrail.consumers.store import sql

_COLUMNS = ["store_seq", "event_id", "stream_id", "stream_seq", "prev_hash", "event_hash",
            "action_type", "attributes"]


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
            # Order matters: gaps opened before the batch fills them, heads advanced last (breaks and
            # opening read the heads from before the batch). The steps a batch cannot affect are
            # skipped: most batches declare nothing and fill no gap.
            tx.execute(sql("streams_breaks"), {"first_store_seq": first})
            if pc.any(pc.equal(events.column("action_type"), "audit.gap")).as_py():
                tx.execute(sql("streams_declarations"))
            tx.execute(sql("streams_open_gaps"))
            if scalar(tx, "streams_any_open_gap"):
                tx.execute(sql("streams_fill_gaps"), {"first_store_seq": first})
            tx.execute(sql("streams_heads"))
        finally:
            tx.unregister("stream_batch")
