"""Every retention run's signed statement against what the store says it removed.

A run (``consumers/projections/retention.py``) signs, per tenant and checkpoint, how many
sealed events it removed and the SHA-256 of their (store_seq, event_id, recorded leaf).
Verify trusts a row's absence only through such a statement: each must be signed by
the trusted key and still match the removals recorded (``retention_removed``) with the
leaves their checkpoint holds. A statement deleted with its removals leaves rows that
read as deleted; one deleted alone leaves removals no statement covers. Then the absence is
reported as that run's doing, a fact; removals no statement covers, or that differ
from what one signed, are problems like a deleted row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agenttrail.checkpoint import RetentionRun, removed_digest
from agenttrail.consumers.store import sql
from agenttrail.findings import OK, PROBLEM, Report
from agenttrail.signing import key_id


def retention_runs(con: duckdb.DuckDBPyConnection) -> list[RetentionRun]:
    return [RetentionRun(*row) for row in con.execute(sql("retention_runs_all")).fetchall()]


def check_retention(con: duckdb.DuckDBPyConnection, report: Report,
                    trusted: Callable[[], Ed25519PublicKey]) -> None:
    """Each run's statements and removals; ``trusted`` gives the public key (asked only when runs exist)."""
    runs = retention_runs(con)
    removals: dict[tuple[str, str, int], list[tuple[int, str, bytes]]] = defaultdict(list)
    for run_id, tenant, checkpoint_id, store_seq, event_id, leaf in con.execute(
            sql("retention_removed_leaves")).fetchall():
        removals[(run_id, tenant, checkpoint_id)].append((store_seq, event_id, leaf or b""))
    public = trusted() if runs else None
    held: dict[tuple[str, str], list[RetentionRun]] = defaultdict(list)  # statements that hold, per run and tenant
    for run in runs:
        assert public is not None
        where = f"retention run {run.run_id} ({run.tenant}, checkpoint {run.checkpoint_id})"
        problem = run.problem(public, key_id(public))
        removed = removals.pop((run.run_id, run.tenant, run.checkpoint_id), [])
        if problem:
            report.add("retention", PROBLEM, where, problem)
        elif len(removed) != run.removed or removed_digest(removed) != run.removed_digest:
            report.add("retention", PROBLEM, where, f"the events recorded as removed ({len(removed)}) are not the "
                       f"{run.removed} its signed statement names")
        else:
            held[(run.run_id, run.tenant)].append(run)
    for (run_id, tenant), statements in held.items():
        report.add("retention", OK, f"retention run {run_id} ({tenant})",
                   f"removed {sum(s.removed for s in statements)} event(s) received before {statements[0].cutoff} "
                   f"from {len(statements)} checkpoint(s), as its signed statements say; their leaves stay, so every "
                   "root and proof still holds")
    for run_id, tenant, checkpoint_id in removals:
        report.add("retention", PROBLEM, f"retention run {run_id} ({tenant}, checkpoint {checkpoint_id})",
                   "events are recorded as removed with no signed statement of the run")
