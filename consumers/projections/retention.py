"""Retention runs: remove the sealed events older than their tenant's period, and keep every proof valid.

A run is a control event (``retention.run``), applied at its place in the store
order, after the other projections have seen its batch: for each tenant with a period
in force (``retention_periods``; a run names one tenant or ``*``), the sealed events
received more than ``days`` before the run was stored are deleted. Their leaves stay in
``checkpoint_leaves``, so every checkpoint's signed root, and every proof of an event
that remains, still holds. What went is recorded (``retention_removed``) and signed, one
statement per checkpoint it removed events from (``retention_runs``, agenttrail.checkpoint's
``RetentionRun``), so ``verify`` reports those rows as removed by that run, a fact, and
any other missing row as deleted; an archive digest carries its checkpoint's statements.
The unsealed values only removed events referred to go too: a person's id is kept no
longer than the events that hold it.

Derived tables keep what the removed events contributed: spend, budgets and their
alerts, flags, decisions, revocations, token lineage, streams and chains are the trail's
conclusions (a month's budget must not shrink because its first days expired, a revoked
lineage must stay revoked, an old stream's head must not turn into a gap). A rebuild
cannot replay events that are gone, so each run that removed something copies every
projection table into the ``retention_baseline`` schema, and ``rebuild`` starts from that
copy and replays only what was stored after it (``consumers/rebuild.py``).

Like the sealer it writes evidence, not a view of the events: ``tables`` is empty, so a
rebuild never runs it again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.checkpoint import RetentionRun, removed_digest
from agenttrail.consumers.batch import Batch, Projection
from agenttrail.consumers.projections.checkpoints import CheckpointSealer
from agenttrail.consumers.rebuild import BASELINE_META, checked_table
from agenttrail.consumers.scripts import run_script
from agenttrail.consumers.store import sql

log = logging.getLogger("agenttrail.retention")
_REMOVED = pa.schema([("run_id", pa.string()), ("tenant", pa.string()), ("checkpoint_id", pa.int64()),
                      ("store_seq", pa.int64()), ("event_id", pa.string())])


class Retention:
    name = "retention"
    tables: tuple[str, ...] = ()

    def __init__(self, projections: Sequence[Projection], sealer: CheckpointSealer) -> None:
        """``projections``: whose tables a baseline copies; ``sealer``: whose key signs the runs' statements."""
        self._projections = projections
        self._sealer = sealer

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        control = batch.control
        if not control.num_rows:
            return
        runs = control.filter(pc.equal(control.column("kind"), "retention.run"))
        removed = 0
        for run in runs.to_pylist():
            periods = tx.execute(sql("retention_in_force"), {"seq": run["store_seq"], "tenant": run["tenant"]})
            for tenant, days in periods.fetchall():
                removed += self._remove(tx, run, tenant, days)
        if removed:
            span = batch.seq_span()
            assert span is not None  # the run itself is in the batch
            self._copy_baseline(tx, span[1] + 1)

    def _remove(self, tx: duckdb.DuckDBPyConnection, run: dict[str, Any], tenant: str, days: Decimal) -> int:
        """Remove one tenant's due events for one run, signing what went from each checkpoint; returns how many."""
        cutoff = run["received_at"] - timedelta(seconds=float(days * 86_400))
        due = tx.execute(sql("retention_due"), {"tenant": tenant, "cutoff": cutoff}).fetchall()
        if not due:
            return 0
        rows = [{"run_id": run["event_id"], "tenant": tenant, "checkpoint_id": checkpoint_id, "store_seq": seq,
                 "event_id": event_id} for checkpoint_id, seq, event_id, _ in due]
        removing = pa.Table.from_pylist(rows, schema=_REMOVED)
        run_script(tx, "retention_remove", {"tenant": tenant}, batch_removed=removing)
        ran_at = datetime.now(UTC).isoformat(timespec="microseconds")
        for checkpoint_id, removed in groupby(due, key=itemgetter(0)):
            leaves = [(seq, event_id, leaf) for _, seq, event_id, leaf in removed]
            record = RetentionRun.seal(
                self._sealer.signer, run_id=run["event_id"], tenant=tenant, checkpoint_id=checkpoint_id,
                store_seq=run["store_seq"], days=f"{days.normalize():f}",
                cutoff=cutoff.isoformat(timespec="microseconds"), removed=len(leaves),
                first_removed_seq=leaves[0][0], last_removed_seq=leaves[-1][0],
                removed_digest=removed_digest(leaves), ran_at=ran_at)
            tx.execute(sql("insert_retention_run"), asdict(record))
        log.info("retention run %s removed %d event(s) of %s received before %s", run["event_id"], len(due),
                 tenant, cutoff.isoformat())
        return len(due)

    def _copy_baseline(self, tx: duckdb.DuckDBPyConnection, next_seq: int) -> None:
        """Every projection table as it stands now, the start of any later rebuild (events from ``next_seq`` on)."""
        for projection in self._projections:
            for table in projection.tables:
                # Table names come from the projections' code, never from input; checked to be plain names.
                name = checked_table(table)
                tx.execute(f"CREATE OR REPLACE TABLE retention_baseline.{name} AS SELECT * FROM {name}")
        tx.execute(sql("set_store_meta"), {"key": BASELINE_META, "value": str(next_seq)})
