"""Events the emitter writes about events: ``audit.refused`` and ``audit.gap``.

They take the place of what could not be recorded, on the same stream and
identity, so a refusal or a dropped window is a fact in the trail, never a silence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agenttrail._exceptions import EventError
from agenttrail.producers.ids import new_event_id, new_span_id


def _derived_event(template: dict[str, Any], action_type: str, attributes: dict[str, str]) -> dict[str, Any]:
    """A small event on the same stream and identity as ``template``, about ``template``."""
    return {
        **{k: template[k] for k in ("tenant", "agent", "principal", "actor_chain", "session_id", "trace_id")},
        "event_id": new_event_id(),
        "occurred_at": datetime.now(UTC),
        "span_id": new_span_id(),
        "parent_span_id": template.get("span_id"),
        "parent_event_id": template.get("parent_event_id"),
        "action": {"type": action_type, "name": template["action"]["type"], "phase": "completed", "resource": None},
        "outcome": "denied",
        "error": None,
        "duration_us": None,
        "credential": None,
        "cost": None,
        "data_region": None,
        "source_address": None,
        "attributes": attributes,
        "integrity": {"stream_id": template["integrity"]["stream_id"], "seq": 0, "prev_hash": None},
    }


def refusal_event(event: dict[str, Any], exc: EventError) -> dict[str, Any]:
    return _derived_event(event, "audit.refused", {
        "reason": type(exc).__name__,
        "detail": str(exc)[:500],
        "refused_event_id": str(event.get("event_id")),
    })


def gap_event(dropped: list[dict[str, Any]], reason: str) -> dict[str, Any]:
    """Declares ``dropped`` (one stream's, in seq order); ``reason`` is ``spool_full`` or ``spool_unwritable``."""
    first, last = dropped[0], dropped[-1]
    return _derived_event(first, "audit.gap", {
        "reason": reason,
        "dropped_events": str(len(dropped)),
        "first_seq": str(first["integrity"]["seq"]),
        "last_seq": str(last["integrity"]["seq"]),
        "first_occurred_at": first["occurred_at"].isoformat(),
        "last_occurred_at": last["occurred_at"].isoformat(),
    })
