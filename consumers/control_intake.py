"""Control-topic records to ``control_events`` rows, stored in the batch's transaction.

Control events are few, so they take a plain per-record path beside the
actions' bulk one. They share the batch's store sequence, so governance changes
and agent actions have one total order that projections and rebuilds follow.
A change that cannot be read or does not validate is quarantined with its
reason like any other input, and never applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from agenttrail._exceptions import InvalidEventError
from agenttrail.consumers.batch import CONTROL_SCHEMA
from agenttrail.consumers.intake import Rejection, decode, quarantine_row
from agenttrail.consumers.store import sql
from agenttrail.schemas.codec import Codec
from agenttrail.schemas.control import parse_payload
from agenttrail.schemas.fingerprints import looks_like_secret


def control_rows(records: Sequence[Any], codec: Codec, received_at: datetime, first_seq: int,
                 future_skew: timedelta, keep: Callable[[str | None, str | None], bool] | None = None,
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for ``control_events`` (store_seq from ``first_seq`` on) and quarantine rows.

    ``keep(tenant, kind)`` says which records this store takes (a shard's, ``agenttrail.shards``); the
    tenant of an unreadable record is its key, and its kind None. The others are passed over.
    """
    rows: list[dict[str, Any]] = []
    quarantined: list[dict[str, Any]] = []
    for record in records:
        where = (received_at, record.topic, record.partition, record.offset)
        event, rejection = decode(codec, record.value)
        if keep is not None and not keep(*_owner(event, record.key)):
            continue
        payload = None
        if event is not None:
            payload, rejection = _check(event, received_at, future_skew)
        if rejection is not None or event is None:
            assert rejection is not None
            quarantined.append(quarantine_row(rejection, record.value, *where))
            continue
        rows.append({
            "store_seq": first_seq + len(rows), "event_id": event["event_id"], "received_at": received_at,
            "occurred_at": event["occurred_at"], "tenant": event["tenant"], "kind": event["kind"],
            "actor_kind": event["actor"]["kind"], "actor_id": event["actor"]["id"], "via": event["via"],
            "reason": event["reason"], "payload": payload, "event_hash": hashlib.sha256(record.value).hexdigest(),
            "kafka_topic": record.topic, "kafka_partition": record.partition, "kafka_offset": record.offset,
            "raw": record.value,
        })
    return rows, quarantined


def store_control(tx: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]],
                  received_at: datetime) -> tuple[pa.Table, int, list[dict[str, Any]]]:
    """Insert ``rows``; returns the newly stored ones, the identical resends, and conflicting resends to quarantine."""
    table = pa.Table.from_pylist(rows, schema=CONTROL_SCHEMA)
    if not rows:
        return table, 0, []
    tx.register("batch_control", table)
    inserted = {r[0] for r in tx.execute(sql("insert_control_events")).fetchall()}
    tx.unregister("batch_control")
    resent = [row for row in rows if row["event_id"] not in inserted]
    stored = dict(tx.execute(sql("stored_control_hashes"), {"ids": [r["event_id"] for r in resent]}).fetchall())
    conflicts = [
        quarantine_row(Rejection("conflicting_duplicate", f"control event {row['event_id']} was already stored "
                                 "with different bytes", event=row), row["raw"], received_at,
                       row["kafka_topic"], row["kafka_partition"], row["kafka_offset"])
        for row in resent if stored.get(row["event_id"]) != row["event_hash"]
    ]
    new = table.filter(pa.array([row["event_id"] in inserted for row in rows])) if resent else table
    return new, len(resent) - len(conflicts), conflicts


def _owner(event: dict[str, Any] | None, key: bytes | None) -> tuple[str | None, str | None]:
    """(tenant, kind) of a control record: from the event, or its key when it cannot be read."""
    if event is not None:
        return str(event["tenant"]), str(event["kind"])
    return (key.decode("utf-8", "replace") if key is not None else None), None


def _check(event: dict[str, Any], received_at: datetime,
           future_skew: timedelta) -> tuple[str | None, Rejection | None]:
    """The normalized payload JSON, or why the change is refused."""
    for label, text in (("reason", event["reason"] or ""), ("payload", event["payload"])):
        if looks_like_secret(text):
            return None, Rejection("secret", f"control {label} looks like a raw credential", redacted=True,
                                   event=event)
    if not event["tenant"].strip() or not event["actor"]["id"].strip():
        return None, Rejection("invalid", "control event has an empty tenant or actor", event=event)
    if event["occurred_at"] > received_at + future_skew:
        return None, Rejection("invalid", f"occurred_at {event['occurred_at'].isoformat()} is more than "
                               f"{future_skew} in the future", event=event)
    try:
        return parse_payload(event["kind"], event["payload"]).to_json(), None
    except InvalidEventError as exc:
        return None, Rejection("invalid", str(exc), event=event)
