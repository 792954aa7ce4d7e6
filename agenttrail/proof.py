"""Inclusion proofs: one event, its checkpoint's signed statement and the audit path between them.

A proof is a JSON document an auditor checks with the public key alone, no
database: the event's canonical row text and exact Avro bytes (``raw``), whose
concatenation is the RFC 9162 leaf data, the leaf's index and audit path, and the
checkpoint statement with its Ed25519 signature. ``check_proof`` redoes every
link: row + raw -> leaf -> root -> signed statement, and raw -> the row's event_hash.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail._exceptions import ProofError
from agenttrail.checkpoint import STATEMENT_VERSION, Checkpoint
from agenttrail.consumers.leaves import parse_row_text
from agenttrail.consumers.store import sql
from agenttrail.merkle import inclusion_path, leaf_hash, root_from_path
from agenttrail.signing import key_id

FORMAT = "agenttrail-inclusion-proof/1"


def make_proof(con: duckdb.DuckDBPyConnection, event_id: str) -> dict[str, Any]:
    """The inclusion proof of a sealed event; ProofError when it is unknown, unsealed or changed since sealing."""
    removed = con.execute(sql("retention_removed_event"), {"event_id": event_id}).fetchall()
    if removed:
        raise ProofError(f"Event {event_id} was removed by retention run {removed[0][0]} (tenant {removed[0][1]}); "
                         "its leaf stays in its checkpoint, but the event is gone, so there is nothing to prove.")
    placed = con.execute(sql("proof_leaf"), {"event_id": event_id}).fetchall()
    if not placed:
        stored = con.execute("SELECT count(*) FROM events WHERE event_id = $e", {"e": event_id}).fetchall()[0][0]
        if not stored:
            raise ProofError(f"There is no event {event_id} in the store.")
        raise ProofError(f"Event {event_id} is not sealed into a checkpoint yet; the materializer seals it "
                         "within checkpoint_events events or checkpoint_idle_s seconds.")
    checkpoint_id, store_seq, recorded, index = placed[0]
    (row,) = con.execute(sql("checkpoint_by_id"), {"checkpoint_id": checkpoint_id}).fetchall()
    checkpoint = Checkpoint(*row)
    now = [r for r in con.sql(sql("leaf_rows"), params={"first": store_seq, "last": store_seq}).fetchall()
           if r[1] == event_id]
    if not now or leaf_hash(now[0][2].encode() + now[0][3]) != recorded:
        raise ProofError(f"Event {event_id} was changed after checkpoint {checkpoint_id} sealed it; "
                         "run `agenttrail verify`.")
    row_text, raw = now[0][2], now[0][3]
    leaves = [leaf for (leaf,) in con.execute(sql("checkpoint_leaves_of"), {"checkpoint_id": checkpoint_id}).fetchall()]
    # The path's siblings cover every other leaf, so the root it implies is the recorded leaves' root: one
    # pass over the tree instead of two (the console proves an event on every view of its page).
    path = inclusion_path(leaves, index)
    implied = root_from_path(recorded, index, len(leaves), path)
    if len(leaves) != checkpoint.tree_size or implied.hex() != checkpoint.root:
        raise ProofError(f"Checkpoint {checkpoint_id}'s recorded leaves no longer match its root; "
                         "run `agenttrail verify`.")
    return {
        "format": FORMAT, "event_id": event_id, "store_seq": store_seq, "row": row_text,
        "raw": base64.b64encode(raw).decode(), "leaf_index": index, "tree_size": checkpoint.tree_size,
        "audit_path": [h.hex() for h in path],
        "checkpoint": checkpoint.statement(), "digest": checkpoint.digest, "signature": checkpoint.signature,
    }


def check_proof(proof: dict[str, Any], public: Ed25519PublicKey) -> dict[str, Any]:
    """Every link of ``proof`` against ``public``; returns the proven row, ProofError naming the broken link."""
    try:
        if proof.get("format") != FORMAT:
            raise ProofError(f"This is not an AgentTrail inclusion proof ({FORMAT}).")
        row: dict[str, Any] = parse_row_text(proof["row"])
        raw = base64.b64decode(proof["raw"], validate=True)
        statement = dict(proof["checkpoint"])
        if statement.pop("v") != STATEMENT_VERSION:
            raise ProofError(f"The checkpoint statement is not version {STATEMENT_VERSION}.")
        checkpoint = Checkpoint(**statement, digest=proof["digest"], signature=proof["signature"])
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        index = int(proof["leaf_index"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError(f"The proof is malformed ({type(exc).__name__}: {exc}).") from None
    if row.get("event_id") != proof["event_id"]:
        raise ProofError("The proof's row is not the event it claims to prove.")
    if hashlib.sha256(raw).hexdigest() != row.get("event_hash"):
        raise ProofError(f"Event {proof['event_id']}'s raw bytes do not hash to the event_hash in its row.")
    try:
        root = root_from_path(leaf_hash(proof["row"].encode("utf-8") + raw), index, checkpoint.tree_size, path)
    except ValueError as exc:
        raise ProofError(f"The audit path does not fit checkpoint {checkpoint.checkpoint_id}: {exc}.") from None
    if root.hex() != checkpoint.root:
        raise ProofError(f"Event {proof['event_id']} is not included in checkpoint {checkpoint.checkpoint_id}: "
                         "its audit path leads to another root.")
    problem = checkpoint.problem(public, key_id(public))
    if problem:
        raise ProofError(f"Checkpoint {checkpoint.checkpoint_id} does not hold: {problem}.")
    return {**row, "checkpoint_id": checkpoint.checkpoint_id, "sealed_at": checkpoint.sealed_at,
            "key_id": checkpoint.key_id}
