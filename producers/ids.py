"""Identifiers: UUIDv7 event ids (time-sortable) and OpenTelemetry trace/span ids (lowercase hex)."""

from __future__ import annotations

import random

import uuid_utils


def new_event_id() -> str:
    return str(uuid_utils.uuid7())


def new_trace_id() -> str:
    """32 hex chars, never all zeros (an invalid trace id in OpenTelemetry)."""
    return f"{random.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    """16 hex chars, never all zeros (an invalid span id in OpenTelemetry)."""
    return f"{random.getrandbits(64) or 1:016x}"
