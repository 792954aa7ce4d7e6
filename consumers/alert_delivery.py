"""Alerts raised in a batch, turned into what gets delivered: Kafka records and webhook deliveries.

The materializer (not a projection) queues both inside the batch's own
transaction, because delivering is a side effect: a rebuild replays projections
into the ``alerts`` table but must not announce old alerts again. Every copy of
an alert carries a stable id (the Kafka key and ``delivery_id`` header, the
``webhook-id`` of a delivery), so a receiver that sees a redelivery after a
crash can tell it from a second alert.
"""

from __future__ import annotations

import fnmatch
import json
from datetime import UTC, datetime
from typing import Any

import duckdb

from agenttrail.config import WebhookEndpoint
from agenttrail.consumers.scripts import records
from agenttrail.consumers.store import sql
from agenttrail.enforcement_state import notice_key
from agenttrail.schemas.codec import alert_codec, revocation_codec

_DETAIL_COLUMNS = ("budget_id", "threshold_pct", "limit_amount", "spent", "projected", "currency", "score", "agent_id",
                   "issuer", "rule_id", "root", "caused_by")


def raised_alerts(tx: duckdb.DuckDBPyConnection, first_seq: int, last_seq: int) -> list[dict[str, Any]]:
    """Every alert raised at store_seq ``first_seq``..``last_seq``, shaped like the Alert schema."""
    cursor = tx.execute(sql("alerts_raised"), {"first_seq": first_seq, "last_seq": last_seq})
    names = [d[0] for d in cursor.description]
    return [_message(dict(zip(names, values, strict=True))) for values in cursor.fetchall()]


def kafka_records(alerts: list[dict[str, Any]], topic: str) -> list[dict[str, Any]]:
    """Outbox rows (without ids) for the alerts topic, Avro-encoded, keyed by alert id."""
    codec = alert_codec()
    return [
        {"topic": topic, "key": alert["alert_id"].encode("utf-8"), "value": codec.encode(alert),
         "headers": [("delivery_id", alert["alert_id"]), ("kind", alert["kind"]), ("tenant", alert["tenant"])]}
        for alert in alerts
    ]


def raised_notices(tx: duckdb.DuckDBPyConnection, first_seq: int, last_seq: int) -> list[dict[str, Any]]:
    """The revocation notices started or lifted at store_seq ``first_seq``..``last_seq``, in that order."""
    return records(tx, "enforcement_notices_raised", {"first_seq": first_seq, "last_seq": last_seq})


def standing_notices(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The notices of every revocation and suspension in force: to publish again to a broker that forgot
    them, and to start the server's in-memory state from."""
    return records(con, "enforcement_standing")


def notice_records(notices: list[dict[str, Any]], topic: str) -> list[dict[str, Any]]:
    """Outbox rows for the compacted revocations topic: keyed by fingerprint, or ``agent:<id>``, so the
    newest record per key is the state and compaction keeps exactly that."""
    codec = revocation_codec()
    return [
        {"topic": topic, "key": notice_key(notice).encode("utf-8"),
         "value": codec.encode(notice),
         "headers": [("delivery_id", notice["notice_id"]), ("status", notice["status"]), ("tenant", notice["tenant"])]}
        for notice in notices
    ]


def webhook_rows(alerts: list[dict[str, Any]], endpoints: list[WebhookEndpoint],
                 queued_at: datetime) -> list[dict[str, Any]]:
    """One delivery per alert and endpoint whose ``kinds`` patterns match the alert's kind (and, for an
    endpoint that names ``issuers``, whose token issuer matches one of them: a token issuer's revoker)."""
    return [
        {"delivery_id": f"{alert['alert_id']}:{endpoint.name}", "alert_id": alert["alert_id"],
         "endpoint": endpoint.name, "body": _body(alert, endpoint.format),
         "queued_at": queued_at}
        for alert in alerts
        for endpoint in endpoints
        if any(fnmatch.fnmatchcase(alert["kind"], pattern) for pattern in endpoint.kinds)
        and (endpoint.issuers is None
             or any(fnmatch.fnmatchcase(alert["details"].get("issuer", ""), p) for p in endpoint.issuers))
    ]



def _body(alert: dict[str, Any], fmt: str) -> str:
    if fmt == "slack":  # a Slack incoming webhook shows `text`; stored values must not become <!channel> or links
        text = f"[{alert['severity']}] {alert['summary']}"
        return json.dumps({"text": text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")})
    return json.dumps({**alert, "raised_at": alert["raised_at"].isoformat()}, sort_keys=True)


def _message(row: dict[str, Any]) -> dict[str, Any]:
    details = {name: str(row[name]) for name in _DETAIL_COLUMNS if row[name] is not None}
    for name in ("top_agents", "top_chains"):
        if row[name]:
            details[name] = json.dumps([{k: str(v) for k, v in item.items()} for item in row[name]])
    return {
        "alert_id": row["alert_id"], "raised_at": row["raised_at"].replace(tzinfo=UTC), "tenant": row["tenant"],
        "kind": row["kind"], "severity": row["severity"], "summary": row["summary"], "scope": row["scope"],
        "action": row["action"], "evidence_event_ids": list(row["evidence_event_ids"]), "details": details,
    }
