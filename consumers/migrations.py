"""Schema versions, and the named steps that bring a store from any earlier one to ``SCHEMA_VERSION``.

Like eventsourcing's upcasters, each step has a name and moves exactly one
version; ``migrate`` runs every step after the store's version, in order, each
in its own transaction, after copying the file (and any WAL) to a backup, since
a migration is the one write that can lose a store. It first creates the tables
the store lacks (the schema files are idempotent); when a step adds projections
that the store's events never went through, every projection is rebuilt from
the stored events at the end, or only the projections a step names when the tables they read are
unchanged. ``agenttrail migrate`` runs it; so do ``serve``
and ``consume`` when they find an older store.

    1 -> 2  event_keys            idempotence moves from a primary key on events to event_keys; the
                                  projections of later releases (chains, budgets, anomalies, ...) are built
    2 -> 3  novelty_first_times   anomaly_seen keeps each new thing's first time and whether it raised a hit
    3 -> 4  spike_origins         a spike series' history starts at its origin's first bucket (anomaly_origins):
                                  sensitive_burst counts per action type from the agent's first sensitive action
    4 -> 5  leak_cascade          revocations name the token they came through, the lineage when each parent was
                                  named, leak reports are kept; lineage and enforcement replayed (revoked lineages
                                  are judged at any depth)
    5 -> 6  sealed_subjects       personal fields are sealed from here on, retention removes events: new tables only;
                                  earlier events keep their personal fields in the clear (readable, never erasable)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from agenttrail._exceptions import StoreError
from agenttrail.config import Settings
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.rebuild import rebuild
from agenttrail.consumers.store import SCHEMA_VERSION, map_duckdb_errors, open_store, sql, stored_version


@dataclass(frozen=True)
class Step:
    to: int  # the version it reaches, from the one before
    name: str
    script: str  # consumers/sql/<script>.sql, which also records the new version
    rebuild: bool = False  # the store's events must go through every projection again
    replay: tuple[str, ...] = ()  # or only these projections (by name): the others' tables are left as they are


STEPS = (
    Step(2, "event_keys", "upgrade_event_keys", rebuild=True),
    Step(3, "novelty_first_times", "upgrade_novelty_first_times"),
    Step(4, "spike_origins", "upgrade_spike_origins", rebuild=True),
    Step(5, "leak_cascade", "upgrade_leak_cascade", replay=("leak_reports", "decisions")),
    Step(6, "sealed_subjects", "upgrade_sealed_subjects"),
)
assert STEPS[-1].to == SCHEMA_VERSION, "every schema version needs a step to it"


@dataclass(frozen=True)
class Migration:
    """What ``migrate`` did: the versions, the steps by name, the backup, how many events it replayed."""

    from_version: int
    to_version: int
    steps: tuple[str, ...]
    backup: Path
    replayed: int

    def summary(self, db: Path) -> str:
        """One sentence for a person."""
        rebuilt = f", rebuilt the projections from {self.replayed:,} events" if self.replayed else ""
        return (f"Migrated {db} from schema version {self.from_version} to {self.to_version} "
                f"({', '.join(self.steps)}{rebuilt}); the backup is {self.backup}.")


def pending(path: Path) -> list[Step]:
    """The steps the store at ``path`` still needs (none for a new or current store)."""
    if not path.exists():
        return []
    with map_duckdb_errors(path):
        con = duckdb.connect(str(path), read_only=True)
        try:
            version = stored_version(con)
        finally:
            con.close()
    return [step for step in STEPS if version is not None and step.to > version]


def migrate(settings: Settings, *, on_progress: Callable[[int], None] | None = None) -> Migration | None:
    """Back up and upgrade the store at ``settings.db``; None when it needed nothing.

    Needs the file to itself (StoreLockedError otherwise). A step that fails rolls back,
    the store keeps the version of the last step that completed, and the backup stays.
    """
    steps = pending(settings.db)
    if not steps:
        return None
    from_version = steps[0].to - 1
    backup = backup_store(settings.db, from_version)
    con = open_store(settings.db, outdated_ok=True)
    try:
        for step in steps:
            con.begin()
            try:
                con.execute(sql(step.script))
                con.commit()
            except duckdb.Error as exc:
                con.rollback()
                raise StoreError(f"Migration step {step.name} (to version {step.to}) failed and was rolled back "
                                 f"({exc}); the store is at version {step.to - 1}, its backup at {backup}.") from None
        replayed = 0
        projections = default_projections(settings)
        if not any(step.rebuild for step in steps):
            named = {name for step in steps for name in step.replay}
            projections = [projection for projection in projections if projection.name in named]
        if projections:
            replayed = rebuild(con, projections, batch_size=settings.batch_max_records, on_progress=on_progress)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return Migration(from_version, SCHEMA_VERSION, tuple(step.name for step in steps), backup, replayed)


def backup_store(path: Path, version: int) -> Path:
    """Copy the database (and its WAL, if any) to ``<db>.v<version>.backup``; returns the copy's path."""
    target = path.with_name(f"{path.name}.v{version}.backup")
    try:
        shutil.copy2(path, target)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            shutil.copy2(wal, target.with_name(target.name + ".wal"))
    except OSError as exc:
        raise StoreError(f"The backup of {path} at {target} could not be written ({exc.strerror}); "
                         "nothing was migrated: free space or fix permissions and run it again.") from None
    return target
