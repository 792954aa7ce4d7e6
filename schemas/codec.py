"""Avro single-object encoding of our contracts, readable by any consumer without a registry.

Wire format (Avro spec, "Single object encoding"): ``C3 01``, the 8-byte
little-endian CRC-64-AVRO fingerprint of the writer schema's parsing canonical
form, then the Avro binary body. The codec knows every schema version shipped
in this package; bytes written with an older version are read with the newest
one through Avro schema resolution, which is why every change must stay
BACKWARD compatible.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from agenttrail._exceptions import DecodeError, InvalidEventError, UnknownSchemaError

MAGIC = b"\xc3\x01"
HEADER_BYTES = len(MAGIC) + 8
_VERSION_FILE = re.compile(r"^(?P<contract>[a-z_]+)\.v(?P<version>\d+)\.avsc$")


def schema_fingerprint(schema: Mapping[str, Any]) -> bytes:
    """The 8 bytes that follow ``C3 01`` for records written with ``schema``."""
    canonical = to_parsing_canonical_form(fastavro.parse_schema(dict(schema)))
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


def shipped_schemas(contract: str = "agent_action") -> list[dict[str, Any]]:
    """Every version of one contract (``agent_action``, ``control_event``) in this package, oldest first."""
    found = []
    for entry in resources.files("agenttrail.schemas").iterdir():
        match = _VERSION_FILE.match(entry.name)
        if match and match["contract"] == contract:
            found.append((int(match["version"]), json.loads(entry.read_text("utf-8"))))
    return [schema for _, schema in sorted(found, key=lambda pair: pair[0])]


class Codec:
    """Encodes with the newest schema; decodes any known version into the newest shape."""

    def __init__(self, schemas: Sequence[Mapping[str, Any]]) -> None:
        if not schemas:
            raise ValueError("a codec needs at least one schema")
        parsed = [fastavro.parse_schema(dict(s)) for s in schemas]
        self.name = str(schemas[-1]["name"])
        self.reader_schema = parsed[-1]
        self.fingerprint = schema_fingerprint(schemas[-1])
        self._header = MAGIC + self.fingerprint
        self._writers = {schema_fingerprint(s): p for s, p in zip(schemas, parsed, strict=True)}

    def wrote(self, data: bytes | None) -> bool:
        """True when ``data`` carries the single-object header of one of this codec's schema versions."""
        return data is not None and data[:2] == MAGIC and data[2:HEADER_BYTES] in self._writers

    def encode(self, record: Mapping[str, Any]) -> bytes:
        """Raises InvalidEventError when the record does not fit the schema."""
        buffer = io.BytesIO()
        buffer.write(self._header)
        try:
            fastavro.schemaless_writer(buffer, self.reader_schema, record)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise InvalidEventError(f"event does not match the {self.name} schema: {exc}") from None
        return buffer.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        """Raises UnknownSchemaError for a fingerprint we never shipped, DecodeError otherwise."""
        if len(data) < HEADER_BYTES or data[:2] != MAGIC:
            raise DecodeError("not Avro single-object encoding (missing C3 01 header)")
        writer = self._writers.get(data[2:HEADER_BYTES])
        if writer is None:
            raise UnknownSchemaError(f"unknown schema fingerprint {data[2:HEADER_BYTES].hex()}")
        body = io.BytesIO(data)
        body.seek(HEADER_BYTES)
        reader = None if writer is self.reader_schema else self.reader_schema
        try:
            record = fastavro.schemaless_reader(body, writer, reader)
        except (EOFError, ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError) as exc:
            raise DecodeError(f"truncated or corrupt Avro body: {exc!r}") from None
        if body.tell() != len(data):
            raise DecodeError(f"{len(data) - body.tell()} trailing bytes after the Avro body")
        assert isinstance(record, dict)
        return record


@cache
def default_codec() -> Codec:
    """The AgentAction codec (the actions topic)."""
    return Codec(shipped_schemas("agent_action"))


@cache
def control_codec() -> Codec:
    """The ControlEvent codec (the control topic)."""
    return Codec(shipped_schemas("control_event"))


@cache
def alert_codec() -> Codec:
    """The Alert codec (the alerts topic)."""
    return Codec(shipped_schemas("alert"))


@cache
def revocation_codec() -> Codec:
    """The RevocationNotice codec (the compacted revocations topic)."""
    return Codec(shipped_schemas("revocation"))


@cache
def subject_key_codec() -> Codec:
    """The SubjectKey codec (subject keys, on the actions topic ahead of the events sealed under them)."""
    return Codec(shipped_schemas("subject_key"))


@cache
def erasure_codec() -> Codec:
    """The SubjectErasure codec (the compacted erasures topic the SDK's guard follows)."""
    return Codec(shipped_schemas("subject_erasure"))


def is_subject_key(value: bytes | None) -> bool:
    """True for a SubjectKey record, which shares the actions topic with AgentActions (schema fingerprint)."""
    return subject_key_codec().wrote(value)
