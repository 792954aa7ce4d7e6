"""The store's archive, the CloudTrail model: one Parquet file per sealed checkpoint plus a signed digest file.

``checkpoint-000001.parquet`` holds the rows checkpoint 1 covers (every column,
raw included, in tree order). ``checkpoint-000001.digest.json`` holds the
checkpoint's signed statement, the file's SHA-256 and row count, and its own
Ed25519 signature over all of that. Archiving is incremental (digests already
written are kept) and refuses a checkpoint whose rows no longer hash to its
signed root, so an archive never launders tampering.

``restore`` rebuilds a new store from the files: every digest signature, file
hash, statement signature and the chain are checked against a trusted public key
(never the one in the archive), each checkpoint's rows must hash to its signed
root again, the projections replay them in store order, and the result is verified.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail._exceptions import ArchiveError
from agenttrail.checkpoint import STATEMENT_VERSION, Checkpoint
from agenttrail.config import Settings
from agenttrail.consumers.batch import EVENT_SCHEMA, Batch
from agenttrail.consumers.leaves import leaf_table, root_of
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.projections.checkpoints import store_checkpoint
from agenttrail.consumers.store import insert_new_events, open_store, sql
from agenttrail.signing import Signer, key_id, public_pem, signature_holds
from agenttrail.verify import Report, verify_store

FORMAT = "agenttrail-archive-digest/1"
Step = Callable[[str], None]


def checkpoints_in(con: duckdb.DuckDBPyConnection) -> list[Checkpoint]:
    return [Checkpoint(*row) for row in con.execute(sql("checkpoints_all")).fetchall()]


def archive(con: duckdb.DuckDBPyConnection, directory: Path, signer: Signer, step: Step) -> int:
    """Write every sealed checkpoint not yet in ``directory``; returns how many were written."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "public-key.pem").write_text(public_pem(signer.public))
    written = 0
    for checkpoint in checkpoints_in(con):
        name = f"checkpoint-{checkpoint.checkpoint_id:06d}"
        step(name)
        digest_path = directory / f"{name}.digest.json"
        if digest_path.exists():
            continue
        rows = con.sql(sql("archive_rows"), params=_range(checkpoint)).to_arrow_table()
        if root_of(_leaves(con, checkpoint)) != checkpoint.root or rows.num_rows != checkpoint.tree_size:
            raise ArchiveError(f"Checkpoint {checkpoint.checkpoint_id}'s rows no longer hash to its signed root, "
                               "so it is not archived; run `agenttrail verify`.")
        data = directory / f"{name}.parquet"
        pq.write_table(rows, data.with_suffix(".tmp"))
        data.with_suffix(".tmp").replace(data)
        body = {"format": FORMAT, "checkpoint": checkpoint.statement(), "checkpoint_digest": checkpoint.digest,
                "checkpoint_signature": checkpoint.signature, "file": data.name, "rows": rows.num_rows,
                "file_sha256": hashlib.sha256(data.read_bytes()).hexdigest()}
        digest_path.write_text(json.dumps({**body, "digest_signature": signer.sign(body)}, indent=2) + "\n")
        written += 1
    return written


def restore(directory: Path, settings: Settings, public: Ed25519PublicKey, step: Step) -> Report:
    """Build a new store at ``settings.db`` from ``directory`` and verify it; ArchiveError names what fails."""
    digests = sorted(directory.glob("checkpoint-*.digest.json"))
    if not digests:
        raise ArchiveError(f"There are no checkpoint digests (checkpoint-*.digest.json) in {directory}.")
    if settings.db.exists():
        raise ArchiveError(f"{settings.db} already exists; restore builds a new store, so pass --db NEW or move it.")
    con = open_store(settings.db)
    try:
        projections = default_projections(settings)
        previous: Checkpoint | None = None
        for path in digests:
            step(path.name)
            checkpoint, rows = _read_checked(path, public, previous)
            _load(con, checkpoint, rows, projections)
            previous = checkpoint
        return verify_store(con, lambda: public)
    finally:
        con.close()


def _read_checked(path: Path, public: Ed25519PublicKey,
                  previous: Checkpoint | None) -> tuple[Checkpoint, pa.Table]:
    try:
        document: dict[str, Any] = json.loads(path.read_text("utf-8"))
        signature = document.pop("digest_signature")
        statement = dict(document["checkpoint"])
        if document.get("format") != FORMAT or statement.pop("v") != STATEMENT_VERSION:
            raise ValueError("unknown format version")
        checkpoint = Checkpoint(**statement, digest=document["checkpoint_digest"],
                                signature=document["checkpoint_signature"])
        data = path.parent / document["file"]
        content = data.read_bytes()
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ArchiveError(f"{path} cannot be read as an archive digest ({type(exc).__name__}: {exc}).") from None
    where = f"{path.name}"
    if not signature_holds(public, document, signature):
        raise ArchiveError(f"{where}: its digest signature does not verify with the trusted key.")
    problem = checkpoint.problem(public, key_id(public))
    if problem:
        raise ArchiveError(f"{where}: checkpoint {checkpoint.checkpoint_id} does not hold: {problem}.")
    expected_id = previous.checkpoint_id + 1 if previous else 1
    if checkpoint.checkpoint_id != expected_id or checkpoint.prev_digest != (previous.digest if previous else None):
        raise ArchiveError(f"{where}: checkpoint {checkpoint.checkpoint_id} does not follow checkpoint "
                           f"{expected_id - 1} in the chain; a checkpoint file is missing or out of place.")
    if hashlib.sha256(content).hexdigest() != document["file_sha256"]:
        raise ArchiveError(f"{where}: {data.name} is not the file that was archived (its SHA-256 differs).")
    return checkpoint, pq.read_table(data).cast(EVENT_SCHEMA)


def _load(con: duckdb.DuckDBPyConnection, checkpoint: Checkpoint, rows: pa.Table, projections: list[Any]) -> None:
    """One checkpoint's rows, its leaves and the projections' view of them, in one transaction."""
    con.begin()
    try:
        insert_new_events(con, rows)  # fills event_keys too: the Kafka tail read after a restore dedupes
        leaves = _leaves(con, checkpoint)
        if root_of(leaves) != checkpoint.root:
            raise ArchiveError(f"Checkpoint {checkpoint.checkpoint_id}'s archived rows do not hash to its "
                               "signed root.")
        store_checkpoint(con, checkpoint, leaves)
        batch = Batch(events=rows, received_at=datetime.now(UTC))
        for projection in projections:
            projection.apply(batch, con)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _leaves(con: duckdb.DuckDBPyConnection, checkpoint: Checkpoint) -> pa.Table:
    return leaf_table(con, checkpoint.first_store_seq, checkpoint.last_store_seq)


def _range(checkpoint: Checkpoint) -> dict[str, int]:
    return {"first": checkpoint.first_store_seq, "last": checkpoint.last_store_seq}
