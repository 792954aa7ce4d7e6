"""AWS CloudTrail records to AgentAction events (the importer's mapping; no I/O).

An agent that works in AWS assumes a role, usually with the agent's name as the role
session name and, when it acts for a person, that person as the STS source identity.
So an assumed-role session is the agent (``agent.id`` = role session name), the
source identity is the human principal it acts for, and the role is the service that
delegated to it; every action of one session shares a trace. The full mapping is in
the README ("Import CloudTrail"). Access key ids are credentials: they are kept only as
keyed fingerprints, and a key issued by ``AssumeRole`` or ``CreateAccessKey`` is recorded
as a ``token.issue`` whose parent is the key that asked, so revoking a key's tree reaches
the sessions minted from it.

``map_record`` returns the event, or the one sentence that says why the record cannot
be one; it never raises on a malformed record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agenttrail.producers.ids import derived_event_id, derived_hex
from agenttrail.schemas.fingerprints import looks_like_secret, redact_secrets

REQUIRED = ("eventTime", "eventSource", "eventName", "eventID", "awsRegion")
MAX_VALUE = 1000
# (event source, event name) of actions the trail has its own verbs for; the rest are aws.<service>
SEMANTIC = {
    **{("sts.amazonaws.com", name): "token.issue" for name in (
        "AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetSessionToken", "GetFederationToken")},
    ("iam.amazonaws.com", "CreateAccessKey"): "token.issue",
    ("iam.amazonaws.com", "DeleteAccessKey"): "token.revoke",
    ("route53domains.amazonaws.com", "RegisterDomain"): "domain.register",
    ("organizations.amazonaws.com", "CreateAccount"): "account.create",
    ("signin.amazonaws.com", "ConsoleLogin"): "auth.login",
    ("cloudformation.amazonaws.com", "CreateStack"): "deploy.release",
    ("cloudformation.amazonaws.com", "UpdateStack"): "deploy.release",
    ("ecs.amazonaws.com", "UpdateService"): "deploy.release",
}
_LAMBDA_DEPLOY = re.compile(r"^(CreateFunction|UpdateFunctionCode)\d*")  # Lambda names carry an API date suffix
_DENIED = re.compile(r"(?i)denied|unauthori[sz]ed|forbidden")
_NOT_VERB = re.compile(r"[^a-z0-9_]")


def map_record(record: Any, tenant: str, stream_id: str,
               fingerprint: Callable[[str], str]) -> dict[str, Any] | str:
    """The event for one CloudTrail record, or why there is none."""
    if not isinstance(record, dict):
        return "the record is not a JSON object"
    missing = [name for name in REQUIRED if not isinstance(record.get(name), str) or not record[name].strip()]
    identity = record.get("userIdentity")
    if not isinstance(identity, dict) or not isinstance(identity.get("type"), str):
        missing.append("userIdentity.type")
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        occurred_at = datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))
    except ValueError:
        return f"eventTime {record['eventTime'][:40]!r} is not an ISO 8601 time"
    if occurred_at.tzinfo is None:
        return f"eventTime {record['eventTime'][:40]!r} has no time zone"
    assert isinstance(identity, dict)
    context = _dict(identity.get("sessionContext"))
    agent_id, actors = _actor(identity, context)
    session = _session(identity, context)
    event_id = derived_event_id("cloudtrail", tenant, record["eventID"])
    return {
        "event_id": event_id,
        "occurred_at": occurred_at.astimezone(UTC),
        "tenant": tenant,
        "agent": {"id": _text(agent_id), "version": "unknown", "model": None,
                  "runtime": _text(str(record.get("userAgent") or "")) or None, "region": _text(record["awsRegion"])},
        "principal": _principal(identity, context),
        "actor_chain": actors,
        "session_id": session,
        "trace_id": derived_hex(32, "cloudtrail", tenant, session or record["eventID"]),
        "span_id": derived_hex(16, "cloudtrail", tenant, record["eventID"]),
        "parent_span_id": None,
        "parent_event_id": None,
        "action": {"type": _action_type(record["eventSource"], record["eventName"]),
                   "name": _text(record["eventName"]), "phase": "completed",
                   "resource": _resource(record.get("resources"), record["awsRegion"])},
        **_outcome(record),
        "duration_us": None,
        "credential": _credential(record, identity, fingerprint),
        "cost": None,
        "data_region": None,
        "source_address": _text(str(record.get("sourceIPAddress") or "")) or None,
        "attributes": _attributes(record, identity, context),
        "integrity": {"stream_id": stream_id, "seq": 0, "prev_hash": None},
    }


def _actor(identity: dict[str, Any], context: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """Who acted (the agent) and the actor chain: a role session, delegated by its role."""
    kind = identity["type"]
    arn = str(identity.get("arn") or "")
    if kind == "AssumedRole" and "/" in arn:
        role_arn = str(_dict(context.get("sessionIssuer")).get("arn") or "")
        session_name = arn.rsplit("/", 1)[-1]
        return session_name, [{"kind": "agent", "id": _text(session_name)},
                              *([{"kind": "service", "id": _text(role_arn)}] if role_arn else [])]
    agent = (f"root@{identity.get('accountId')}" if kind == "Root" else None) or identity.get("userName") \
        or identity.get("invokedBy") or identity.get("principalId") or arn or kind
    return str(agent), [{"kind": "agent", "id": _text(str(agent))}]


def _principal(identity: dict[str, Any], context: dict[str, Any]) -> dict[str, str]:
    """On whose behalf: the session's source identity (a person), else who the identity itself is."""
    source = context.get("sourceIdentity") or identity.get("sourceIdentity")
    on_behalf = _dict(identity.get("onBehalfOf")).get("userId")
    kind = identity["type"]
    if source:
        return {"kind": "human", "id": _text(str(source))}
    if on_behalf:
        return {"kind": "human", "id": _text(str(on_behalf))}
    if kind in ("IAMUser", "Root", "IdentityCenterUser"):
        return {"kind": "human", "id": _text(str(identity.get("arn") or identity.get("principalId") or kind))}
    issuer = _dict(context.get("sessionIssuer")).get("arn")
    who = issuer or identity.get("invokedBy") or identity.get("arn") or identity.get("principalId") or kind
    return {"kind": "service", "id": _text(str(who))}


def _session(identity: dict[str, Any], context: dict[str, Any]) -> str | None:
    created = _dict(context.get("attributes")).get("creationDate")
    principal = identity.get("principalId")
    return _text(f"{principal}@{created}") if principal and created else None


def _action_type(source: str, name: str) -> str:
    known = SEMANTIC.get((source, name))
    if known:
        return known
    if source == "lambda.amazonaws.com" and _LAMBDA_DEPLOY.match(name):
        return "deploy.release"
    service = _NOT_VERB.sub("_", source.removesuffix(".amazonaws.com").lower())[:60] or "unknown"
    return f"aws.{service}"


def _resource(resources: Any, region: str) -> dict[str, Any] | None:
    first = resources[0] if isinstance(resources, list) and resources and isinstance(resources[0], dict) else None
    if first is None or not first.get("ARN"):
        return None
    arn = str(first["ARN"])
    parts = arn.split(":")
    arn_region = parts[3] if len(parts) > 3 and parts[3] else None
    return {"kind": _text(str(first.get("type") or "aws")), "id": _text(arn), "region": arn_region or region}


def _outcome(record: dict[str, Any]) -> dict[str, Any]:
    code = record.get("errorCode")
    message = str(record.get("errorMessage") or "")
    if not code and _dict(record.get("responseElements")).get("ConsoleLogin") == "Failure":
        code = "ConsoleLoginFailure"
    if not code:
        return {"outcome": "success", "error": None}
    return {"outcome": "denied" if _DENIED.search(str(code)) else "failure",
            "error": {"code": _text(str(code)), "message": _text(message)}}


def _credential(record: dict[str, Any], identity: dict[str, Any],
                fingerprint: Callable[[str], str]) -> dict[str, Any] | None:
    """The key used, fingerprinted; for a token.issue, the key issued, with the key that asked as its parent."""
    used = str(identity.get("accessKeyId") or "")
    response = _dict(record.get("responseElements"))
    issued = str(_dict(response.get("credentials")).get("accessKeyId")
                 or _dict(response.get("accessKey")).get("accessKeyId") or "")
    if issued:
        role = _dict(record.get("requestParameters")).get("roleArn")
        return {"token_id": None, "fingerprint": fingerprint(issued), "issuer": _issuer(issued),
                "scopes": [_text(str(role))] if role else [], "parent_fingerprint": fingerprint(used) if used else None}
    if used:
        return {"token_id": None, "fingerprint": fingerprint(used), "issuer": _issuer(used), "scopes": [],
                "parent_fingerprint": None}
    return None


def _issuer(access_key_id: str) -> str:
    """Temporary (ASIA…) keys come from STS, long-term (AKIA…) ones from IAM."""
    return "aws:sts" if access_key_id.startswith("ASIA") else "aws:iam"


def _attributes(record: dict[str, Any], identity: dict[str, Any], context: dict[str, Any]) -> dict[str, str]:
    found = {
        "cloudtrail.event_id": record["eventID"], "cloudtrail.event_source": record["eventSource"],
        "cloudtrail.request_id": record.get("requestID"), "cloudtrail.event_type": record.get("eventType"),
        "cloudtrail.event_category": record.get("eventCategory"), "cloudtrail.read_only": record.get("readOnly"),
        "cloudtrail.management_event": record.get("managementEvent"),
        "cloudtrail.recipient_account_id": record.get("recipientAccountId"),
        "cloudtrail.shared_event_id": record.get("sharedEventID"),
        "cloudtrail.vpc_endpoint_id": record.get("vpcEndpointId"),
        "aws.account_id": identity.get("accountId"), "aws.identity_type": identity["type"],
        "aws.identity_arn": identity.get("arn"), "aws.invoked_by": identity.get("invokedBy"),
        "aws.role_arn": _dict(context.get("sessionIssuer")).get("arn"),
        "aws.mfa_authenticated": _dict(context.get("attributes")).get("mfaAuthenticated"),
    }
    resources = record.get("resources")
    if isinstance(resources, list) and len(resources) > 1:
        found["cloudtrail.resource_count"] = len(resources)
    return {key: _text(_plain(value)) for key, value in found.items() if value not in (None, "")}


def _plain(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: str) -> str:
    """A value as it may be stored: credential shapes redacted (access key ids included), at most MAX_VALUE."""
    return (redact_secrets(value) if looks_like_secret(value) else value)[:MAX_VALUE]
