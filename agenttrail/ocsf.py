"""Stored events as OCSF 1.6 records, for a SIEM (the README maps every field).

An agent action becomes an API Activity (class 6003); a token issued or used
becomes an Authentication (class 3002), since that is where a SIEM looks for
credentials. Every required attribute of those classes and of the base event is
always set. What OCSF has no attribute for (cost, tokens used, the hash chain,
the event's own attributes) goes under ``unmapped``, as OCSF prescribes.
Stored values are attacker-controlled text: they are only ever JSON-encoded,
never interpreted.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from functools import cache
from importlib.metadata import version
from typing import Any

OCSF_VERSION = "1.6.0"
API_ACTIVITY, AUTHENTICATION = 6003, 3002
_CATEGORY = {API_ACTIVITY: 6, AUTHENTICATION: 3}  # Application Activity, Identity & Access Management

# API Activity's activity_id from the action type's verb; anything else is 99 (Other).
_API_VERBS = {
    1: ("activate", "register", "create", "issue", "deploy", "release", "purchase", "payment", "provision"),
    2: ("get", "read", "list", "search", "fetch", "query", "call", "run", "plan", "use"),
    3: ("update", "modify", "rotate", "renew", "configure"),
    4: ("delete", "revoke", "cancel", "deprovision", "remove"),
}
_AUTHENTICATION = {"token.use": 1, "token.issue": 3}  # Logon, Authentication Ticket
_USER_TYPES = {"human": (1, "User"), "service": (3, "System")}  # an agent principal is 99 (Other)
_STATUS = {"success": 1, "failure": 2, "denied": 2}  # Success, Failure; anything else 0 (Unknown)
_UNMAPPED = ("principal_kind", "agent_version", "agent_model", "agent_runtime", "phase", "cost_amount", "cost_currency",
             "input_tokens", "output_tokens", "duration_us", "parent_event_id", "parent_span_id", "token_issuer",
             "token_scopes", "parent_token_fingerprint", "data_region", "stream_id", "stream_seq", "prev_hash",
             "event_hash", "schema_fingerprint", "store_seq")


def to_ocsf(row: dict[str, Any]) -> dict[str, Any]:
    """One stored event row (``queries/export_events.sql``) as an OCSF record."""
    class_uid, activity_id = classify(row["action_type"])
    status_id = _STATUS.get(row["outcome"], 0)
    record: dict[str, Any] = {
        "category_uid": _CATEGORY[class_uid],
        "class_uid": class_uid,
        "activity_id": activity_id,
        "type_uid": class_uid * 100 + activity_id,
        "severity_id": 1,  # Informational: judging is the detectors' and the SIEM's rules' job
        "time": _ms(row["occurred_at"]),
        "status_id": status_id,
        "status": row["outcome"],
        "message": f"{row['agent_id']} {row['action_type']} {row['action_name']}: {row['outcome']}",
        "metadata": {
            "version": OCSF_VERSION,
            "uid": row["event_id"],
            "product": dict(_product()),
            "logged_time": _ms(row["received_at"]),
            "tenant_uid": row["tenant"],
            "correlation_uid": row["trace_id"],
            "log_name": row["kafka_topic"],
        },
        "actor": {
            "app_name": row["agent_id"],
            "app_uid": f"{row['agent_id']}@{row['agent_version']}",
            "user": _user(row),
            **({"session": {"uid": row["session_id"]}} if row.get("session_id") else {}),
        },
        "src_endpoint": _endpoint(row),
        "api": {"operation": row["action_name"], "service": {"name": row["action_type"]},
                "request": {"uid": row["span_id"]}},
        "unmapped": {**{name: _plain(row.get(name)) for name in _UNMAPPED if row.get(name) is not None},
                     "attributes": dict(row.get("attributes") or {})},
    }
    if row.get("error_code"):
        record["status_code"] = row["error_code"]
        record["status_detail"] = row.get("error_message") or ""
    if row.get("resource_id") is not None:
        record["resources"] = [{"type": row["resource_kind"], "uid": row["resource_id"],
                                **({"region": row["resource_region"]} if row.get("resource_region") else {})}]
    if class_uid == AUTHENTICATION:
        record["user"] = _user(row)
        if row.get("token_fingerprint"):
            record["user"]["credential_uid"] = row["token_fingerprint"]
    return record


def classify(action_type: str) -> tuple[int, int]:
    """(class_uid, activity_id) for an action type."""
    if action_type in _AUTHENTICATION:
        return AUTHENTICATION, _AUTHENTICATION[action_type]
    verb = action_type.rsplit(".", 1)[-1]
    for activity_id, verbs in _API_VERBS.items():
        if verb in verbs:
            return API_ACTIVITY, activity_id
    return API_ACTIVITY, 99


def _user(row: dict[str, Any]) -> dict[str, Any]:
    """The principal the agent acted for, as an OCSF user (its kind as OCSF's user type)."""
    type_id, caption = _USER_TYPES.get(row["principal_kind"], (99, "Other"))
    return {"uid": row["principal_id"], "type_id": type_id, "type": caption}


def _endpoint(row: dict[str, Any]) -> dict[str, Any]:
    """Where the action came from: the agent's address when it is an IP, and its region."""
    endpoint: dict[str, Any] = {"uid": row["agent_id"], "location": {"region": row["agent_region"]}}
    address = row.get("source_address")
    if address:
        try:
            endpoint["ip"] = str(ipaddress.ip_address(address))
        except ValueError:
            endpoint["hostname"] = address
    return endpoint


@cache
def _product() -> dict[str, str]:
    return {"name": "AgentTrail", "vendor_name": "AgentTrail", "version": version("agenttrail")}


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _plain(value: Any) -> Any:
    """JSON-ready: exact decimals and times as strings, lists as lists."""
    if isinstance(value, (int, float, str, bool)):
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value)
