"""Identifiers: UUIDv7 event ids (time-sortable) and OpenTelemetry trace/span ids (lowercase hex).

Importers and the OTLP ingest derive theirs instead (``derived_event_id``, ``derived_hex``):
the same source record always gets the same id, so importing it again is a resend the
store recognises, and a span's parent event id follows from the parent span's id alone.
"""

from __future__ import annotations

import hashlib
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


def _digest(parts: tuple[str, ...]) -> bytes:
    """SHA-256 of the parts, each prefixed by its length (no two tuples share an encoding)."""
    return hashlib.sha256("".join(f"{len(part)}:{part}" for part in parts).encode("utf-8")).digest()


def derived_event_id(*parts: str) -> str:
    """A UUIDv8 (RFC 9562: custom) made of the first 122 bits of SHA-256 over ``parts``.

    The first part names the source (``"otlp"``, ``"cloudtrail"``), the second the tenant, so
    ids of different sources and tenants never meet; SHA-256 keeps anyone from choosing a
    record whose id collides with another tenant's. Not time-sortable, unlike new_event_id:
    the store orders by store_seq, never by event id.
    """
    raw = bytearray(_digest(parts)[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80  # version 8
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"  # as str(uuid.UUID(...)) writes it


def derived_hex(length: int, *parts: str) -> str:
    """``length`` lowercase hex chars from SHA-256 over ``parts`` (a trace id: 32, a span id: 16), never all zeros."""
    value = _digest(parts).hex()[:length]
    return value if value.strip("0") else "1".zfill(length)
