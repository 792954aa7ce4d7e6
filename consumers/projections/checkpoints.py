"""Seal stored events into signed Merkle checkpoints, so any later change to a row is evident.

Registered last among the projections, it sees each batch inside the batch's
transaction, after the rows are stored. Boundaries depend only on store order:
each full run of ``checkpoint_events`` unsealed events (by store_seq) is sealed
in the batch that completes it. What is left is sealed by ``on_idle`` when the
materializer's poll came back empty and the oldest unsealed event is older than
``checkpoint_idle_s``, so a quiet stream is not left unsealed for long, and when
the materializer stops.

Sealing computes the leaves of exactly the rows it seals (``consumers/leaves.py``),
builds the tree in Python and signs the root: about 5-10 microseconds per event,
some 10% of ingest. Its tables are
not in ``tables``: a rebuild must never clear the evidence it is checked against,
and replaying a batch through ``apply`` seals nothing twice (it starts after the
last checkpoint).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.checkpoint import LEAF_VERSION, Checkpoint
from agenttrail.config import Settings
from agenttrail.consumers.batch import Batch
from agenttrail.consumers.leaves import leaf_table, root_of
from agenttrail.consumers.store import sql
from agenttrail.signing import Signer, load_or_create_signer

log = logging.getLogger("agenttrail.checkpoints")
_LAST = 2**63 - 1


class CheckpointSealer:
    """Signs Merkle checkpoints of the stored events (the key is created on first run)."""

    name = "checkpoints"
    tables: tuple[str, ...] = ()

    def __init__(self, settings: Settings, signer: Signer | None = None) -> None:
        self.every = settings.checkpoint_events
        self.idle_after_s = settings.checkpoint_idle_s
        self._key_path = settings.signing_key_path
        self._signer = signer

    @property
    def signer(self) -> Signer:
        """Loaded (or created, 0600) at the first seal, so a rebuild or restore that seals nothing makes no key."""
        if self._signer is None:
            self._signer = load_or_create_signer(self._key_path)
        return self._signer

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        """Seal the full runs this batch completes: most batches complete none, and learn that from the
        last checkpoint alone, without counting the unsealed events. Live, no event is stored past the
        batch's last store_seq, so fewer store_seqs than ``checkpoint_events`` since the last checkpoint
        mean no full run; a replay (whose later events are stored already) seals the same runs, at the
        same boundaries, in the batch that reaches them."""
        if batch.events.num_rows == 0:
            return
        if pc.max(batch.events["store_seq"]).as_py() - _last(tx)[1] < self.every:
            return
        self.seal(tx, partial=False)

    def on_idle(self, con: duckdb.DuckDBPyConnection, *, stopping: bool = False) -> None:
        """Seal the unsealed rest once its oldest event waited ``checkpoint_idle_s``, or at once when
        the materializer stops; in its own transaction."""
        after = _last(con)[1]
        (count, age_s), = con.execute(sql("unsealed_events"), {"after": after}).fetchall()
        if count and (stopping or (age_s is not None and age_s >= self.idle_after_s)):
            con.begin()
            try:
                self.seal(con, partial=True)
                con.commit()
            except BaseException:
                con.rollback()
                raise

    def seal(self, tx: duckdb.DuckDBPyConnection, *, partial: bool) -> list[Checkpoint]:
        """Seal every full run of unsealed events, and with ``partial`` the rest too; returns the new checkpoints."""
        checkpoint_id, after, prev_digest = _last(tx)
        (count, _), = tx.execute(sql("unsealed_events"), {"after": after}).fetchall()
        if count == 0 or (count < self.every and not partial):
            return []
        full = count - count % self.every
        end = _LAST if partial else tx.execute(sql("nth_unsealed"), {"after": after, "n": full}).fetchall()[0][0]
        leaves = leaf_table(tx, after + 1, end)
        sealed: list[Checkpoint] = []
        for start in range(0, leaves.num_rows, self.every):
            chunk = leaves.slice(start, self.every)
            if chunk.num_rows < self.every and not partial:
                break
            checkpoint_id += 1
            checkpoint = self._sign(checkpoint_id, chunk, prev_digest)
            store_checkpoint(tx, checkpoint, chunk)
            prev_digest = checkpoint.digest
            sealed.append(checkpoint)
        log.info("sealed %d checkpoint(s) up to store_seq %s", len(sealed),
                 sealed[-1].last_store_seq if sealed else after)
        return sealed

    def _sign(self, checkpoint_id: int, chunk: pa.Table, prev_digest: str | None) -> Checkpoint:
        seqs = chunk.column("store_seq")
        return Checkpoint.seal(
            self.signer, checkpoint_id=checkpoint_id, first_store_seq=seqs[0].as_py(),
            last_store_seq=seqs[-1].as_py(), tree_size=chunk.num_rows, root=root_of(chunk), prev_digest=prev_digest,
            leaf_version=LEAF_VERSION, sealed_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        )


def _last(con: duckdb.DuckDBPyConnection) -> tuple[int, int, str | None]:
    """(checkpoint_id, last_store_seq, digest) of the newest checkpoint, (0, 0, None) before the first."""
    rows = con.execute(sql("last_checkpoint")).fetchall()
    return (int(rows[0][0]), int(rows[0][1]), str(rows[0][2])) if rows else (0, 0, None)


def store_checkpoint(tx: duckdb.DuckDBPyConnection, checkpoint: Checkpoint, leaves: pa.Table) -> None:
    """Record a checkpoint and its leaves (``leaves``: store_seq, event_id, leaf in tree order)."""
    tx.execute(sql("insert_checkpoint"), asdict(checkpoint))
    tx.register("sealed_leaves", leaves)
    try:
        tx.execute(sql("insert_checkpoint_leaves"), {"checkpoint_id": checkpoint.checkpoint_id})
    finally:
        tx.unregister("sealed_leaves")
