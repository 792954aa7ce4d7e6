"""Raw action records -> an Arrow table of event rows plus quarantine rows: the pure stage.

Nothing here touches Kafka or DuckDB, so it can run in the decode worker process
(``consumers/worker.py``) while the materializer polls and commits other
batches. ``decode_records`` is deterministic in its input (``received_at`` is
chosen by the caller): re-decoding the same records after a crash gives the
same rows. Rejected records come back as quarantine rows in record order; the
caller stores both in one transaction with the batch's offsets.

Per record it decodes and flattens (fastavro); the contract's semantic rules
run column-wise (``intake.suspects``) and only the few flagged rows go through
the per-record ``intake.check``, which decides, so quarantine reasons and
details stay those of ``check``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

import pyarrow as pa

from agenttrail.consumers.batch import event_table
from agenttrail.consumers.intake import (
    ACTION_TYPE,
    EVENT_HASH,
    EVENT_ID,
    TENANT,
    check,
    conflict,
    decode,
    flatten,
    quarantine_row,
    refused,
    suspects,
)
from agenttrail.schemas.codec import Codec


@dataclass(frozen=True)
class RawRecords:
    """One batch of records from the actions topic, in poll order, as plain lists (cheap to pickle)."""

    received_at: datetime
    topics: list[str]
    partitions: list[int]
    offsets: list[int]
    values: list[bytes | None]

    def where(self, i: int) -> tuple[datetime, str, int, int]:
        return self.received_at, self.topics[i], self.partitions[i], self.offsets[i]


@dataclass
class Decoded:
    """What a batch turns into. ``events`` numbers ``store_seq`` from 0; the committer adds its base."""

    events: pa.Table
    quarantine: list[dict[str, Any]]
    duplicates: int
    timings: dict[str, float] = field(default_factory=dict)  # seconds in decode / validate / arrow


def decode_records(records: RawRecords, codec: Codec, future_skew: timedelta) -> Decoded:
    """Decode, check and flatten ``records``; in-batch resends are counted, conflicts quarantined."""
    clock = time.perf_counter
    started = clock()
    rejected: list[tuple[int, dict[str, Any]]] = []  # (record index, quarantine row)
    events: list[dict[str, Any]] = []
    sources: list[int] = []  # record index of each decoded event
    for i, value in enumerate(records.values):
        event, rejection = decode(codec, value)
        if rejection is not None:
            rejected.append((i, quarantine_row(rejection, value, *records.where(i))))
        else:
            assert event is not None
            events.append(event)
            sources.append(i)
    decoded_at = clock()
    rows = [flatten(event, records.values[i] or b"", n, *records.where(i))
            for n, (event, i) in enumerate(zip(events, sources, strict=True))]
    table = event_table(rows)
    arrow_at = clock()

    invalid = set()
    for n in suspects(table, records.received_at, future_skew):
        rejection = check(events[n], records.received_at, future_skew)
        if rejection is not None:
            invalid.add(n)
            i = sources[n]
            rejected.append((i, quarantine_row(rejection, records.values[i], *records.where(i))))
    keep, duplicates = _first_of_each_id(rows, invalid, sources, records, rejected)
    for n in keep:
        if rows[n][ACTION_TYPE] == "audit.refused":
            rejected.append((sources[n], quarantine_row(refused(events[n]), None, *records.where(sources[n]))))
    if len(keep) < len(rows):
        table = table.take(pa.array(keep, pa.int64()))
        table = table.set_column(0, "store_seq", pa.array(range(len(keep)), pa.int64()))
    rejected.sort(key=itemgetter(0))  # stable: a refusal stays behind its own event's other rows
    return Decoded(table, [row for _, row in rejected], duplicates,
                   {"decode": decoded_at - started, "arrow": arrow_at - decoded_at, "validate": clock() - arrow_at})


def _first_of_each_id(rows: list[tuple[Any, ...]], invalid: set[int], sources: list[int], records: RawRecords,
                      rejected: list[tuple[int, dict[str, Any]]]) -> tuple[list[int], int]:
    """The valid rows to store: a repeated event id is a resend (same bytes) or a conflict (quarantined)."""
    seen: dict[str, str] = {}
    keep: list[int] = []
    duplicates = 0
    for n, row in enumerate(rows):
        if n in invalid:
            continue
        previous = seen.get(row[EVENT_ID])
        if previous is None:
            seen[row[EVENT_ID]] = row[EVENT_HASH]
            keep.append(n)
        elif previous == row[EVENT_HASH]:
            duplicates += 1
        else:
            i = sources[n]
            rejected.append((i, quarantine_row(conflict(row[EVENT_ID], row[TENANT]), records.values[i],
                                               *records.where(i))))
    return keep, duplicates
