"""What one committed batch holds, as projections see it, and its Arrow layout."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.consumers.intake import EVENT_COLUMNS

_ACTOR = pa.struct([("kind", pa.string()), ("id", pa.string())])
_TS = pa.timestamp("us", tz="UTC")

EVENT_SCHEMA = pa.schema([
    ("store_seq", pa.int64()), ("event_id", pa.string()), ("received_at", _TS), ("occurred_at", _TS),
    ("tenant", pa.string()), ("agent_id", pa.string()), ("agent_version", pa.string()),
    ("agent_model", pa.string()), ("agent_runtime", pa.string()), ("agent_region", pa.string()),
    ("principal_kind", pa.string()), ("principal_id", pa.string()), ("actor_chain", pa.list_(_ACTOR)),
    ("session_id", pa.string()), ("trace_id", pa.string()), ("span_id", pa.string()),
    ("parent_span_id", pa.string()), ("parent_event_id", pa.string()), ("action_type", pa.string()),
    ("action_name", pa.string()), ("phase", pa.string()), ("resource_kind", pa.string()),
    ("resource_id", pa.string()), ("resource_region", pa.string()), ("outcome", pa.string()),
    ("error_code", pa.string()), ("error_message", pa.string()), ("duration_us", pa.int64()),
    ("token_id", pa.string()), ("token_fingerprint", pa.string()), ("token_issuer", pa.string()),
    ("token_scopes", pa.list_(pa.string())), ("parent_token_fingerprint", pa.string()),
    ("cost_amount", pa.decimal128(38, 9)), ("cost_currency", pa.string()), ("input_tokens", pa.int64()),
    ("output_tokens", pa.int64()), ("data_region", pa.string()), ("source_address", pa.string()),
    ("attributes", pa.map_(pa.string(), pa.string())), ("stream_id", pa.string()),
    ("stream_seq", pa.int64()), ("prev_hash", pa.string()), ("event_hash", pa.string()),
    ("schema_fingerprint", pa.string()), ("kafka_topic", pa.string()), ("kafka_partition", pa.int32()),
    ("kafka_offset", pa.int64()), ("raw", pa.binary()),
])
assert tuple(EVENT_SCHEMA.names) == EVENT_COLUMNS

QUARANTINE_SCHEMA = pa.schema([
    ("quarantine_id", pa.int64()), ("received_at", _TS), ("kafka_topic", pa.string()),
    ("kafka_partition", pa.int32()), ("kafka_offset", pa.int64()), ("reason", pa.string()),
    ("detail", pa.string()), ("event_id", pa.string()), ("tenant", pa.string()), ("raw", pa.binary()),
    ("raw_sha256", pa.string()), ("redacted", pa.bool_()),
])

CONTROL_SCHEMA = pa.schema([
    ("store_seq", pa.int64()), ("event_id", pa.string()), ("received_at", _TS), ("occurred_at", _TS),
    ("tenant", pa.string()), ("kind", pa.string()), ("actor_kind", pa.string()), ("actor_id", pa.string()),
    ("via", pa.string()), ("reason", pa.string()), ("payload", pa.string()), ("event_hash", pa.string()),
    ("kafka_topic", pa.string()), ("kafka_partition", pa.int32()), ("kafka_offset", pa.int64()),
    ("raw", pa.binary()),
])

OUTBOX_SCHEMA = pa.schema([
    ("outbox_id", pa.int64()), ("topic", pa.string()), ("key", pa.binary()), ("value", pa.binary()),
    ("headers", pa.map_(pa.string(), pa.string())), ("published_at", _TS),
])


_EVENT_ROW = pa.struct(list(EVENT_SCHEMA))


def event_table(rows: list[tuple[Any, ...]]) -> pa.Table:
    """The rows (tuples in EVENT_COLUMNS order) as an EVENT_SCHEMA table.

    One conversion of the row tuples into a struct array, then split into columns:
    about twice as fast as transposing in Python and converting column by column.
    A row of the wrong length raises ``pa.ArrowInvalid`` (a ValueError).
    """
    return pa.Table.from_struct_array(pa.array(rows, type=_EVENT_ROW))


@dataclass
class Batch:
    """The events and control events one transaction newly stored (duplicates removed), in store order."""

    events: pa.Table
    received_at: datetime
    quarantined: int = 0
    duplicates: int = 0
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    control: pa.Table = field(default_factory=CONTROL_SCHEMA.empty_table)  # governance changes, same store order

    def seq_span(self) -> tuple[int, int] | None:
        """The first and last store_seq stored (events and control events), or None when nothing was."""
        seqs = pa.chunked_array([self.events["store_seq"], self.control["store_seq"]], type=pa.int64())
        if len(seqs) == 0:
            return None
        bounds = pc.min_max(seqs)
        return bounds["min"].as_py(), bounds["max"].as_py()

    def after(self, seq: int) -> Batch:
        """The part of the batch stored after ``seq``: what a batch boundary right after it would leave."""
        return replace(self, events=_stored_after(self.events, seq), control=_stored_after(self.control, seq))


def _stored_after(table: pa.Table, seq: int) -> pa.Table:
    return table.filter(pc.greater(table["store_seq"], seq))


class Projection(Protocol):
    """Derived tables kept in step with the events: it sees each batch inside its transaction.

    ``tables`` are the tables it alone writes; ``agenttrail rebuild`` empties them and
    replays every stored event through ``apply`` in store order.
    """

    name: str
    tables: tuple[str, ...]

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None: ...
