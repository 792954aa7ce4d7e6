"""The archive's subject keys: without them a restored store could read no sealed value, and would forget erasures.

The Parquet files keep every event's exact bytes, and personal values in them are
sealed (``schemas/sealing.py``). ``subject-keys.json`` beside them holds every subject
key the store holds, still wrapped under the key-encryption key, and the erasures
applied; a destroyed key is listed without its wrapped copy. Unlike a checkpoint's
files it is rewritten (atomically) by every ``agenttrail archive``, so an erasure
reaches the archive at its next run; it is signed with the archive's key, and
``restore`` checks that before it trusts a key or an erasure in it.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail._exceptions import ArchiveError
from agenttrail.consumers.scripts import run_script
from agenttrail.consumers.store import sql
from agenttrail.consumers.subject_intake import KEYS_SCHEMA
from agenttrail.signing import Signer, signature_holds

FILE = "subject-keys.json"
FORMAT = "agenttrail-archive-keys/1"
_KEYS = pa.schema([*KEYS_SCHEMA, ("erased_by", pa.string()), ("erased_at", pa.timestamp("us", tz="UTC"))])
_ERASURES = pa.schema([
    ("event_id", pa.string()), ("store_seq", pa.int64()), ("tenant", pa.string()), ("subject_digest", pa.string()),
    ("requested_at", pa.timestamp("us", tz="UTC")), ("erased_at", pa.timestamp("us", tz="UTC")),
    ("keys_destroyed", pa.int64()),
])


def write_keys(con: duckdb.DuckDBPyConnection, directory: Path, signer: Signer) -> int:
    """Write ``subject-keys.json`` as the store holds them now; returns how many keys it lists."""
    body = {"format": FORMAT,
            "keys": [_json(row) for row in con.sql(sql("archive_subject_keys")).to_arrow_table().to_pylist()],
            "erasures": [_json(row) for row in con.sql(sql("archive_erasures")).to_arrow_table().to_pylist()]}
    target = directory / FILE
    target.with_suffix(".tmp").write_text(json.dumps({**body, "signature": signer.sign(body)}, indent=1) + "\n")
    target.with_suffix(".tmp").replace(target)
    return len(body["keys"])


def restore_keys(con: duckdb.DuckDBPyConnection, directory: Path, public: Ed25519PublicKey) -> None:
    """Load ``subject-keys.json`` into a new store, once its signature holds; nothing when the archive has none."""
    path = directory / FILE
    if not path.exists():
        return
    try:
        document = json.loads(path.read_text("utf-8"))
        signature = document.pop("signature")
        if document.get("format") != FORMAT:
            raise ValueError("unknown format version")
        keys = pa.Table.from_pylist([_parsed(row, _KEYS) for row in document["keys"]], schema=_KEYS)
        erasures = pa.Table.from_pylist([_parsed(row, _ERASURES) for row in document["erasures"]], schema=_ERASURES)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ArchiveError(f"{path} cannot be read as an archive's keys file ({type(exc).__name__}: {exc}).") from None
    if not signature_holds(public, document, signature):
        raise ArchiveError(f"{path}: its signature does not verify with the trusted key.")
    run_script(con, "restore_subject_keys", archived_keys=keys, archived_erasures=erasures)


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {key: (value.isoformat() if isinstance(value, datetime) else
                  base64.b64encode(value).decode() if isinstance(value, bytes) else value)
            for key, value in row.items()}


def _parsed(row: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    types = {field.name: field.type for field in schema}
    return {key: (datetime.fromisoformat(value) if value is not None and pa.types.is_timestamp(types[key]) else
                  base64.b64decode(value) if value is not None and pa.types.is_binary(types[key]) else value)
            for key, value in row.items()}
