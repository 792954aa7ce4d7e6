"""What sealed references read as, and whose spend a principal budget counts.

Every stored event holds a personal value as its sealed reference
(``sealed:<key id>:<pseudonym>``, ``schemas/sealing.py``), so every projection works
on the bytes alone and a rebuild reproduces it whatever was erased since. Views need
the value: the first time a reference is stored, this projection decrypts it from
that event's own bytes with its live key and keeps it in ``sealed_values`` (an
erasure deletes the rows of the keys it destroys; ``unseal()`` then reads
"[erased]"). It also records the subject digest of every ``principal:P`` budget scope
(``principal_scopes``), by which ``principal_in_scope()`` counts a person's spend under
each of their keys, erased or not, without keeping who they are anywhere but there.

Both tables are caches keyed by what they hold (a reference, a scope), not views of the
store order: ``tables`` is empty, so a rebuild neither clears nor replays them, and needs
no fingerprint key to run. Without that key (an auditor restoring an archive to verify
it) nothing is unsealed: personal values read "[sealed]", all else is the same.
"""

from __future__ import annotations

import logging

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail._exceptions import SealingError
from agenttrail.config import Settings
from agenttrail.consumers.batch import Batch
from agenttrail.consumers.scripts import run_script
from agenttrail.consumers.store import sql
from agenttrail.schemas.codec import default_codec
from agenttrail.schemas.sealing import REF_PREFIX, DataKey, SubjectKeys, key_id_of, sealed_values, subject_of

log = logging.getLogger("agenttrail.subjects")
_VALUES = pa.schema([("ref", pa.string()), ("key_id", pa.string()), ("kind", pa.string()), ("value", pa.string())])


class Subjects:
    name = "subjects"
    tables: tuple[str, ...] = ()

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._derived: SubjectKeys | None = None
        self._scopes_checked = False  # a store opened with principal budgets older than this table

    @property
    def keys(self) -> SubjectKeys:
        if self._derived is None:
            self._derived = SubjectKeys(self._settings.fingerprint_key, self._settings.fingerprint_key_id)
        return self._derived

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        if self._settings.fingerprint_key is None:
            return
        if batch.control.num_rows or not self._scopes_checked:
            self._record_scopes(tx)
            self._scopes_checked = True
        if batch.events.num_rows:
            self._unseal_new(batch.events, tx)

    def _record_scopes(self, tx: duckdb.DuckDBPyConnection) -> None:
        scopes = [scope for (scope,) in tx.execute(sql("principal_scopes_missing")).fetchall()]
        if scopes:
            digests = [self.keys.digest(subject_of(scope)) for scope in scopes]
            tx.execute(sql("insert_principal_scopes"), {"scopes": scopes, "digests": digests})

    def _unseal_new(self, events: pa.Table, tx: duckdb.DuckDBPyConnection) -> None:
        """Decrypt each reference the store has not unsealed yet, from the first of its events that can."""
        columns = _ref_columns(events)
        candidates = {ref for refs, _ in columns for ref in pc.unique(refs).to_pylist()}
        if not candidates:
            return
        known = {ref for (ref,) in tx.execute(sql("sealed_values_known"), {"refs": sorted(candidates)}).fetchall()}
        missing = candidates - known
        if not missing:
            return
        live = self._live_keys(tx, {key_id_of(ref) for ref in missing})
        wanted = pa.array(sorted(ref for ref in missing if key_id_of(ref) in live), pa.string())
        rows = sorted({row for refs, at in columns for row in pc.filter(at, pc.is_in(refs, wanted)).to_pylist()})
        raws, found = events.column("raw"), {}
        for row in rows:
            for kind, ref, sealed in sealed_values(default_codec().decode(raws[row].as_py())):
                if ref in missing and ref not in found and key_id_of(ref) in live:
                    try:
                        found[ref] = (kind, live[key_id_of(ref)].open(kind, ref, sealed))
                    except SealingError as exc:  # the event lies about its reference: it shows as sealed
                        log.warning("event %s: %s", events.column("event_id")[row], exc)
            if len(found) == len(wanted):
                break
        if found:
            values = pa.Table.from_pylist([{"ref": ref, "key_id": key_id_of(ref), "kind": kind, "value": value}
                                           for ref, (kind, value) in found.items()], schema=_VALUES)
            run_script(tx, "insert_sealed_values", batch_values=values)

    def _live_keys(self, tx: duckdb.DuckDBPyConnection, key_ids: set[str]) -> dict[str, DataKey]:
        rows = tx.execute(sql("live_subject_keys"), {"keys": sorted(key_ids)}).fetchall()
        return {key_id: self.keys.unwrap(key_id, tenant, wrapped) for key_id, tenant, wrapped in rows}


def _ref_columns(events: pa.Table) -> list[tuple[pa.Array, pa.Array]]:
    """(sealed references, the row of each) in the principal, actor and source address columns."""
    actors = events.column("actor_chain").combine_chunks()
    found = []
    for values, rows in ((events.column("principal_id").combine_chunks(), None),
                         (events.column("source_address").combine_chunks(), None),
                         (actors.flatten().field("id"), actors.value_parent_indices())):
        sealed = pc.fill_null(pc.starts_with(values, REF_PREFIX), False)
        at = rows if rows is not None else pa.array(range(len(values)), pa.int64())
        found.append((pc.filter(values, sealed), pc.filter(at, sealed)))
    return found
