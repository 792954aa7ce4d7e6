"""Subject keys and erasures, stored and applied in the batch's transaction before the projections see it.

Subject keys come on the actions topic, each ahead of the first event sealed under
it (``producers/keyring.py``); a key is unwrapped once, to learn its subject's digest,
and stored wrapped as it came. An erasure (``subject.erase``, a control event)
destroys the stored copy of every key of that subject made no later than the
request, deletes what the subjects projection had unsealed with them, and is
announced on the compacted erasures topic, whose notices make the SDKs' guards drop
their copies. A key that arrives after its subject's erasure, made before it, is
destroyed on arrival. None of this is a projection: a rebuild replays events
through the projections, never keys or erasures, and these tables keep their rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from agenttrail._exceptions import DecodeError, SealingError
from agenttrail.consumers.intake import Rejection, quarantine_row
from agenttrail.consumers.scripts import run_script
from agenttrail.consumers.store import sql
from agenttrail.schemas.codec import erasure_codec, subject_key_codec
from agenttrail.schemas.sealing import SubjectKeys

KEYS_SCHEMA = pa.schema([
    ("key_id", pa.string()), ("tenant", pa.string()), ("subject_digest", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")), ("received_at", pa.timestamp("us", tz="UTC")),
    ("kek_id", pa.string()), ("wrapped", pa.binary()),
    ("kafka_topic", pa.string()), ("kafka_partition", pa.int32()), ("kafka_offset", pa.int64()),
])


def key_rows(records: Sequence[Any], keys: SubjectKeys,
             received_at: datetime) -> tuple[pa.Table, list[dict[str, Any]]]:
    """``subject_keys`` rows for the batch's key records, and quarantine rows for those that do not open."""
    rows, quarantined = [], []
    for record in records:
        where = (received_at, record.topic, record.partition, record.offset)
        try:
            key = subject_key_codec().decode(record.value)
            subject = keys.unwrap(key["key_id"], key["tenant"], key["wrapped"]).subject
        except (DecodeError, SealingError) as exc:
            quarantined.append(quarantine_row(Rejection("invalid", f"subject key: {exc}"), record.value, *where))
            continue
        rows.append({**key, "subject_digest": keys.digest(subject), "received_at": received_at,
                     "kafka_topic": record.topic, "kafka_partition": record.partition, "kafka_offset": record.offset})
    return pa.Table.from_pylist(rows, schema=KEYS_SCHEMA), quarantined


def store_keys_and_erasures(tx: duckdb.DuckDBPyConnection, keys: pa.Table, control: pa.Table,
                            erasures_topic: str) -> list[dict[str, Any]]:
    """Store the batch's keys, apply its erasures (and earlier ones to keys that arrive late); returns the
    outbox records announcing the batch's erasures."""
    if keys.num_rows:
        run_script(tx, "insert_subject_keys", batch_keys=keys)
    erased: list[tuple[str, str, str, datetime]] = []
    if control.num_rows and "subject.erase" in control.column("kind").to_pylist():
        tx.register("batch_control", control)
        try:
            erased = tx.execute(sql("insert_erasures")).fetchall()
        finally:
            tx.unregister("batch_control")
    if keys.num_rows or erased:
        destroyed = tx.execute(sql("erase_subject_keys")).fetchall()
        if destroyed:
            tx.execute(sql("count_erased_keys"), {"erased_by": [by for _, by in destroyed]})
            tx.execute(sql("forget_sealed_values"), {"keys": [key_id for key_id, _ in destroyed]})
    return [
        {"topic": erasures_topic, "key": digest.encode("utf-8"),
         "value": erasure_codec().encode({"subject_digest": digest, "tenant": tenant, "erased_at": erased_at,
                                          "cause_event_id": event_id}),
         "headers": [("delivery_id", event_id), ("tenant", tenant)]}
        for event_id, tenant, digest, erased_at in erased
    ]
