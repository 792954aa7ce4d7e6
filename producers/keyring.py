"""The data keys one emitter seals personal fields under, and the key records that must precede their events.

The first time an emitter meets a subject (``human:<id>``) in a tenant it makes a
data key for it (``schemas/sealing.py``) and keeps it for the process's life, so
sealing never waits for the network. The key's record (``SubjectKey``, the key
wrapped under the key-encryption key) goes onto the actions topic in the
tenant's partition *ahead of* the first event sealed under it: Kafka keeps a
partition's order, so the materializer always stores a key before the events
that need it. Each path that sends (the sender thread and the spool share one
order; a fail-closed action has its own producer) puts the record ahead of its
event until one send of it was acknowledged.

When a subject is erased, the SDK's guard hears it on the erasures topic and
``forget`` drops that subject's keys: the next event makes a new key, and events
already sealed under the destroyed one stay unreadable, as erased data should.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from agenttrail.config import Settings
from agenttrail.producers.spool import Record
from agenttrail.schemas.codec import is_subject_key, subject_key_codec
from agenttrail.schemas.sealing import ADDRESS, ID, SUBJECT_KINDS, DataKey, SubjectKeys, is_ref, key_id_of


class Keyring:
    """Subject keys by (tenant, subject) and by key id; thread-safe."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._derived: SubjectKeys | None = None
        self._lock = threading.Lock()
        self._by_subject: dict[tuple[str, str], DataKey] = {}
        self._by_id: dict[str, DataKey] = {}
        self._owners: dict[str, tuple[str, str]] = {}  # key id -> (tenant, subject digest), to forget on erasure
        self._records: dict[str, Record] = {}  # key id -> its record, until a send of it is acknowledged
        self._queued: set[str] = set()  # key ids whose record is in the sender's and spool's order already

    @property
    def keys(self) -> SubjectKeys:
        """Derived at the first subject met (ConfigError without AGENTTRAIL_FINGERPRINT_KEY)."""
        if self._derived is None:
            self._derived = SubjectKeys(self._settings.fingerprint_key, self._settings.fingerprint_key_id)
        return self._derived

    def seal(self, event: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """A copy of ``event`` with its personal fields sealed, and the ids of the keys it uses.

        A field that holds a reference already (an ``audit.gap`` copies its principal from an
        event sealed before) is left as it is.
        """
        tenant, principal = event["tenant"], event["principal"]
        used: list[str] = []
        sealed = dict(event)
        owner = self._key_for(tenant, principal["kind"], principal["id"])
        if owner is not None:
            used.append(owner.key_id)
            if not is_ref(principal["id"]):
                ref, record = owner.seal(ID, principal["id"])
                sealed["principal"] = {"kind": principal["kind"], "id": ref, "sealed": record}
        if any(actor["kind"] in SUBJECT_KINDS for actor in event["actor_chain"]):
            sealed["actor_chain"] = [self._sealed_actor(tenant, actor, used) for actor in event["actor_chain"]]
        address = event.get("source_address")
        if owner is not None and address is not None and not is_ref(address):
            sealed["source_address"], sealed["source_address_sealed"] = owner.seal(ADDRESS, address)
        return sealed, used

    def _sealed_actor(self, tenant: str, actor: dict[str, Any], used: list[str]) -> dict[str, Any]:
        key = self._key_for(tenant, actor["kind"], actor["id"])
        if key is None:
            return actor
        used.append(key.key_id)
        if is_ref(actor["id"]):
            return actor
        ref, record = key.seal(ID, actor["id"])
        return {"kind": actor["kind"], "id": ref, "sealed": record}

    def records_for(self, key_ids: list[str], *, own_producer: bool = False) -> list[Record]:
        """The key records to send ahead of an event sealed under ``key_ids``.

        On the sender's and spool's order a record goes once; ``own_producer`` (a fail-closed
        send, which may overtake that order) repeats every record not yet acknowledged.
        """
        with self._lock:
            due = [k for k in dict.fromkeys(key_ids) if k in self._records and (own_producer or k not in self._queued)]
            self._queued.update(due)
            return [self._records[k] for k in due]

    def acknowledged(self, records: list[Record]) -> None:
        """Kafka acknowledged these records: the key records among them need never be sent again."""
        for _, value in records:
            if is_subject_key(value):
                with self._lock:
                    self._records.pop(subject_key_codec().decode(value)["key_id"], None)

    def lost(self, records: list[Record]) -> None:
        """These records were dropped (spool full): their key records must go again ahead of the next event."""
        for _, value in records:
            if is_subject_key(value):
                with self._lock:
                    self._queued.discard(subject_key_codec().decode(value)["key_id"])

    def knows(self, tenant: str, subject: str) -> bool:
        """Whether this emitter holds a key for ``subject`` (``human:ID``) in ``tenant``."""
        with self._lock:
            return (tenant, subject) in self._by_subject

    def forget(self, digest: str, tenant: str = "*") -> int:
        """Drop the keys of the subject with ``digest`` (in ``tenant``, or every tenant); returns how many."""
        with self._lock:
            gone = [key_id for key_id, (at, of) in self._owners.items() if of == digest and tenant in ("*", at)]
            for key_id in gone:
                key = self._by_id.pop(key_id)
                at, _ = self._owners.pop(key_id)
                del self._by_subject[(at, key.subject)]
                self._records.pop(key_id, None)
                self._queued.discard(key_id)
        return len(gone)

    def _key_for(self, tenant: str, kind: str, ident: str) -> DataKey | None:
        """The key a subject's values are sealed under (made now the first time); None for non-people."""
        if kind not in SUBJECT_KINDS:
            return None
        if is_ref(ident):
            return self._by_id.get(key_id_of(ident))
        subject = f"{kind}:{ident}"
        key = self._by_subject.get((tenant, subject))  # a read needs no lock; making a key does
        if key is not None:
            return key
        with self._lock:
            key = self._by_subject.get((tenant, subject))
            if key is None:
                key, digest = DataKey.new(subject), self.keys.digest(subject)
                self._records[key.key_id] = self._record(key, tenant)
                self._by_subject[(tenant, subject)], self._by_id[key.key_id] = key, key
                self._owners[key.key_id] = (tenant, digest)
            return key

    def _record(self, key: DataKey, tenant: str) -> Record:
        value = subject_key_codec().encode({
            "key_id": key.key_id, "tenant": tenant, "created_at": datetime.now(UTC), "kek_id": self.keys.kek_id,
            "wrapped": self.keys.wrap(key, tenant)})
        return tenant.encode("utf-8"), value
