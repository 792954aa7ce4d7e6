"""The store's archive, the CloudTrail model: one Parquet file per sealed checkpoint plus a signed digest file.

``checkpoint-000001.parquet`` holds the rows checkpoint 1 covers (every column,
raw included, in tree order). ``checkpoint-000001.digest.json`` holds the
checkpoint's signed statement, the file's SHA-256 and row count, and its own
Ed25519 signature over all of that. Archiving is incremental (digests already
written are kept) and refuses a checkpoint whose rows no longer hash to its
signed root, so an archive never launders tampering.

The subject keys that open the sealed personal values in those rows are archived
beside them (``agenttrail/archived_keys.py``).

``restore`` rebuilds a new store from the files: every digest signature, file
hash, statement signature and the chain are checked against a trusted public key
(never the one in the archive), each checkpoint's rows must hash to its signed
root again, the projections replay them in store order, and the result is verified.

A checkpoint archived after a retention run removed some of its events holds the
rest; its digest lists the removed events' recorded leaves and carries the run's
signed statements (``consumers/projections/retention.py``), so its root still
holds, and the restored store's ``verify`` reports them removed, as the original's
does. A checkpoint archived before keeps every row: retention does not reach files
already written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail._exceptions import ArchiveError
from agenttrail.archived_keys import restore_keys, write_keys
from agenttrail.checkpoint import STATEMENT_VERSION, Checkpoint, RetentionRun, removed_digest
from agenttrail.config import Settings
from agenttrail.consumers.batch import EVENT_SCHEMA, Batch
from agenttrail.consumers.leaves import leaf_table, root_of, with_removed
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
        ids = {"checkpoint_id": checkpoint.checkpoint_id}
        removed = con.sql(sql("retention_removed_of_checkpoint"), params=ids).to_arrow_table()
        leaves = with_removed(_leaves(con, checkpoint), removed)
        if root_of(leaves) != checkpoint.root or leaves.num_rows != checkpoint.tree_size:
            raise ArchiveError(f"Checkpoint {checkpoint.checkpoint_id}'s rows no longer hash to its signed root, "
                               "so it is not archived; run `agenttrail verify`.")
        data = directory / f"{name}.parquet"
        pq.write_table(rows, data.with_suffix(".tmp"))
        data.with_suffix(".tmp").replace(data)
        body = {"format": FORMAT, "checkpoint": checkpoint.statement(), "checkpoint_digest": checkpoint.digest,
                "checkpoint_signature": checkpoint.signature, "file": data.name, "rows": rows.num_rows,
                "file_sha256": hashlib.sha256(data.read_bytes()).hexdigest()}
        if removed.num_rows:
            body["removed"] = [{**r, "leaf": r["leaf"].hex()} for r in removed.to_pylist()]
            body["retention"] = [asdict(RetentionRun(*run))
                                 for run in con.execute(sql("retention_of_checkpoint"), ids).fetchall()]
        digest_path.write_text(json.dumps({**body, "digest_signature": signer.sign(body)}, indent=2) + "\n")
        written += 1
    write_keys(con, directory, signer)
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
        restore_keys(con, directory, public)
        projections = default_projections(settings)
        previous: Checkpoint | None = None
        for path in digests:
            step(path.name)
            checkpoint, rows, removed = _read_checked(path, public, previous)
            _load(con, checkpoint, rows, removed, projections)
            previous = checkpoint
        return verify_store(con, lambda: public)
    finally:
        con.close()


def _read_checked(path: Path, public: Ed25519PublicKey,
                  previous: Checkpoint | None) -> tuple[Checkpoint, pa.Table, Removed]:
    try:
        document: dict[str, Any] = json.loads(path.read_text("utf-8"))
        signature = document.pop("digest_signature")
        statement = dict(document["checkpoint"])
        if document.get("format") != FORMAT or statement.pop("v") != STATEMENT_VERSION:
            raise ValueError("unknown format version")
        checkpoint = Checkpoint(**statement, digest=document["checkpoint_digest"],
                                signature=document["checkpoint_signature"])
        removed = Removed([RetentionRun(**run) for run in document.get("retention", [])],
                          [{**r, "leaf": bytes.fromhex(r["leaf"])} for r in document.get("removed", [])])
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
    problem = removed.problem(public)
    if problem:
        raise ArchiveError(f"{where}: {problem}.")
    return checkpoint, pq.read_table(data).cast(EVENT_SCHEMA), removed


@dataclass(frozen=True)
class Removed:
    """What retention removed from one archived checkpoint: the runs' signed statements and each event's leaf."""

    runs: list[RetentionRun]
    events: list[dict[str, Any]]  # run_id, tenant, store_seq, event_id, leaf (bytes)

    def problem(self, public: Ed25519PublicKey) -> str | None:
        """Why the removals are not the ones the runs signed; None when they are (or there are none)."""
        for run in self.runs:
            mine = [(e["store_seq"], e["event_id"], e["leaf"]) for e in self.events
                    if (e["run_id"], e["tenant"]) == (run.run_id, run.tenant)]
            problem = run.problem(public, key_id(public))
            if problem or removed_digest(mine) != run.removed_digest or len(mine) != run.removed:
                return f"retention run {run.run_id}'s statement does not hold ({problem or 'other events'})"
        if len({(e["run_id"], e["tenant"]) for e in self.events}) != len(self.runs):
            return "events are listed as removed with no signed statement of the run"
        return None

    def store(self, con: duckdb.DuckDBPyConnection, checkpoint_id: int) -> None:
        for run in self.runs:
            con.execute(sql("insert_retention_run"), asdict(run))
        for event in self.events:
            fields = {name: event[name] for name in ("run_id", "tenant", "store_seq", "event_id")}
            con.execute(sql("insert_retention_removed"), {**fields, "checkpoint_id": checkpoint_id})


def _load(con: duckdb.DuckDBPyConnection, checkpoint: Checkpoint, rows: pa.Table, removed: Removed,
          projections: list[Any]) -> None:
    """One checkpoint's rows, its leaves and the projections' view of them, in one transaction."""
    con.begin()
    try:
        insert_new_events(con, rows)  # fills event_keys too: the Kafka tail read after a restore dedupes
        leaves = _leaves(con, checkpoint)
        if removed.events:
            leaves = with_removed(leaves, pa.Table.from_pylist(removed.events))
        if root_of(leaves) != checkpoint.root:
            raise ArchiveError(f"Checkpoint {checkpoint.checkpoint_id}'s archived rows do not hash to its "
                               "signed root.")
        store_checkpoint(con, checkpoint, leaves)
        removed.store(con, checkpoint.checkpoint_id)
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
