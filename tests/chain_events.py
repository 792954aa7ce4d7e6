"""Stored events written straight into a real store, for chain tests that choose the arrival order.

``store_events`` inserts rows with ``store_seq`` in the given order (the arrival order a
materializer would have assigned); ``agenttrail.consumers.rebuild`` then replays them in
that order through the real projections, in batches of the size a test picks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from agenttrail.config import load_settings
from agenttrail.consumers.batch import EVENT_SCHEMA
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import rebuild
from agenttrail.schemas.control import ControlPayload

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def event(event_id: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    """One events row with plausible defaults; ``fields`` override any column."""
    row: dict[str, Any] = {
        "store_seq": 0, "event_id": event_id, "received_at": T0, "occurred_at": T0, "tenant": "acme",
        "agent_id": "billing-bot", "agent_version": "1.0.0", "agent_region": "eu-west-1",
        "principal_kind": "human", "principal_id": "alice", "actor_chain": [{"kind": "agent", "id": "billing-bot"}],
        "trace_id": "0" * 32, "span_id": "1" * 16, "parent_event_id": parent, "action_type": "tool.call",
        "action_name": "send_invoice", "phase": "completed", "outcome": "success", "duration_us": 1500,
        "attributes": [], "stream_id": "stream-1", "stream_seq": 0, "event_hash": f"hash-{event_id}",
        "schema_fingerprint": "fp", "kafka_topic": "agenttrail.actions", "kafka_partition": 0,
        "kafka_offset": 0, "raw": b"\x00raw",
    }
    row.update(fields)
    if isinstance(row["attributes"], dict):
        row["attributes"] = list(row["attributes"].items())
    return row


def store_events(con: duckdb.DuckDBPyConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Append ``rows`` to ``events`` in this order (store_seq continues after the stored ones)."""
    start = _next_seq(con)
    numbered = [{**row, "store_seq": start + i, "stream_seq": start + i, "kafka_offset": start + i,
                 "received_at": T0 + timedelta(seconds=start + i)} for i, row in enumerate(rows)]
    con.register("new_events", pa.Table.from_pylist(numbered, schema=EVENT_SCHEMA))
    con.execute("INSERT INTO events SELECT * FROM new_events")
    con.unregister("new_events")


def store_control(con: duckdb.DuckDBPyConnection, tenant: str, payload: ControlPayload, *,
                  actor: str = "human:sec-oncall", reason: str | None = "test") -> str:
    """Append one control event after everything stored so far, as the materializer would; returns its id."""
    seq = _next_seq(con)
    event_id = f"ctl-{seq}"
    kind, _, ident = actor.partition(":")
    con.execute(
        "INSERT INTO control_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'cli', ?, ?, ?, 'agenttrail.control', 0, ?, ?)",
        [seq, event_id, T0 + timedelta(seconds=seq), T0 + timedelta(seconds=seq), tenant, payload.kind, kind, ident,
         reason, payload.to_json(), f"hash-{event_id}", seq, b"\x00raw"],
    )
    return event_id


def _next_seq(con: duckdb.DuckDBPyConnection) -> int:
    [(start,)] = con.execute(
        "SELECT greatest((SELECT coalesce(max(store_seq), 0) FROM events), "
        "(SELECT coalesce(max(store_seq), 0) FROM control_events)) + 1").fetchall()
    return int(start)


def project(con: duckdb.DuckDBPyConnection, *, batch_size: int = 5000) -> None:
    """Materialize the projections from the stored events, in store order, ``batch_size`` at a time."""
    rebuild(con, default_projections(load_settings()), batch_size=batch_size)


def chain_table(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The chain tables' content, sorted: equal lists mean equal materializations."""
    nodes = con.sql("SELECT * FROM chain_nodes ORDER BY event_id").to_arrow_table().to_pylist()
    pending = con.sql("SELECT * FROM chain_pending ORDER BY event_id").to_arrow_table().to_pylist()
    rollups = con.sql("SELECT * FROM chain_rollups ORDER BY root_id").to_arrow_table().to_pylist()
    return [*nodes, *pending, *rollups]
