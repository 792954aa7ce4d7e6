"""One event's integrity, as the event page shows it: verified in a sealed checkpoint, not yet sealed, or not holding.

The answer is recomputed, not read from a flag: the event's inclusion proof is
built from the store (``agenttrail.proof.make_proof``: its row and raw bytes
re-hashed into its leaf, the checkpoint's root rebuilt from the recorded leaves)
and checked against the server's own public key (``check_proof``: the audit path
and the checkpoint's signature), exactly what ``agenttrail prove`` and
``verify-proof`` do. Its stream's open gaps and the breaks that name it come from
the streams projection (``event_stream`` query). The worst finding sets the status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail._exceptions import ProofError, SigningKeyError
from agenttrail.consumers.store import sql
from agenttrail.proof import check_proof, make_proof

VERIFIED, UNSEALED, UNCHECKED = "verified", "not sealed yet", "not checkable here"
GAP, BREAK, CHANGED = "stream gap", "stream break", "changed"
SEVERITY = {VERIFIED: "ok", UNSEALED: "warning", UNCHECKED: "warning", GAP: "problem", BREAK: "problem",
            CHANGED: "problem"}


def event_integrity(cursor: duckdb.DuckDBPyConnection, event_id: str, stream: pa.Table,
                    public_key: Callable[[], Ed25519PublicKey]) -> pa.Table:
    """One row per finding, the status first: ``check`` (seal, stream), ``status``, ``severity``, ``detail``."""
    findings = [_seal(cursor, event_id, public_key)]
    for row in stream.to_pylist():
        findings.append(_stream_finding(row))
    return pa.Table.from_pylist(findings, schema=pa.schema([("check", pa.string()), ("status", pa.string()),
                                                              ("severity", pa.string()), ("detail", pa.string())]))


def overall(integrity: pa.Table) -> dict[str, Any]:
    """The worst finding: what the page's badge says."""
    rows = integrity.to_pylist()
    rank = {"problem": 2, "warning": 1, "ok": 0}
    return max(rows, key=lambda row: rank[row["severity"]])


def _seal(cursor: duckdb.DuckDBPyConnection, event_id: str,
          public_key: Callable[[], Ed25519PublicKey]) -> dict[str, str]:
    try:
        proof = make_proof(cursor, event_id)
    except ProofError as exc:
        sealed = bool(cursor.execute(sql("proof_leaf"), {"event_id": event_id}).fetchall())
        return _finding("seal", CHANGED if sealed else UNSEALED, str(exc))
    try:
        proven = check_proof(proof, public_key())
    except SigningKeyError as exc:
        return _finding("seal", UNCHECKED, str(exc))
    except ProofError as exc:
        return _finding("seal", CHANGED, str(exc))
    return _finding("seal", VERIFIED, f"Included in checkpoint {proven['checkpoint_id']} (leaf {proof['leaf_index']} "
                                      f"of {proof['tree_size']}), sealed at {proven['sealed_at']}; its row, raw "
                                      f"bytes, audit path and Ed25519 signature (key {proven['key_id']}) verify.")


def _stream_finding(row: dict[str, Any]) -> dict[str, str]:
    span = f"seq {row['first_seq']}" if row["first_seq"] == row["last_seq"] else \
        f"seq {row['first_seq']}-{row['last_seq']}"
    if row["kind"] == "gap_open":
        declared = f", declared by audit.gap event {row['declared_by']}" if row["declared_by"] else ", undeclared"
        return _finding("stream", GAP, f"Its stream is missing {span} (noticed at event {row['event_id']}{declared}).",
                        severity="warning" if row["declared_by"] else None)
    if row["kind"] == "gap_closed":
        return _finding("stream", VERIFIED, f"A gap in its stream ({span}) closed when the late events arrived.")
    return _finding("stream", BREAK, f"{row['kind'].replace('_', ' ')} at {span}, event {row['event_id']}.")


def _finding(check: str, status: str, detail: str, *, severity: str | None = None) -> dict[str, str]:
    return {"check": check, "status": status, "severity": severity or SEVERITY[status], "detail": detail}
