"""Alerts raised in a batch, as Avro records for the alerts topic, queued in the batch's own transaction.

The materializer (not a projection) does this, because publishing is a side
effect: a rebuild replays projections into the ``alerts`` table but must not
announce old alerts again. Each record carries its alert id as the key and the
``delivery_id`` header, so a receiver that sees a redelivery after a crash can
tell it from a second alert.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import duckdb

from agenttrail.consumers.store import sql
from agenttrail.schemas.codec import alert_codec

_DETAIL_COLUMNS = ("budget_id", "threshold_pct", "limit_amount", "spent", "projected", "currency")


def alert_records(tx: duckdb.DuckDBPyConnection, first_seq: int, last_seq: int, topic: str) -> list[dict[str, Any]]:
    """Outbox rows (without ids) for every alert raised at store_seq ``first_seq``..``last_seq``."""
    cursor = tx.execute(sql("alerts_raised"), {"first_seq": first_seq, "last_seq": last_seq})
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    codec = alert_codec()
    return [
        {"topic": topic, "key": row["alert_id"].encode("utf-8"), "value": codec.encode(_alert(row)),
         "headers": [("delivery_id", row["alert_id"]), ("kind", row["kind"]), ("tenant", row["tenant"])]}
        for row in rows
    ]


def _alert(row: dict[str, Any]) -> dict[str, Any]:
    details = {name: str(row[name]) for name in _DETAIL_COLUMNS if row[name] is not None}
    for name in ("top_agents", "top_chains"):
        if row[name]:
            details[name] = json.dumps([{k: str(v) for k, v in item.items()} for item in row[name]])
    return {
        "alert_id": row["alert_id"], "raised_at": row["raised_at"].replace(tzinfo=UTC), "tenant": row["tenant"],
        "kind": row["kind"], "severity": row["severity"], "summary": row["summary"], "scope": row["scope"],
        "action": row["action"], "evidence_event_ids": list(row["evidence_event_ids"]), "details": details,
    }
