"""The batches between poll and commit: handed to the decode worker, taken back in poll order.

The materializer keeps at most one batch here between its steps: it takes the
oldest back (waiting for the worker if needed) before it hands over the next,
so the worker decodes batch N+1 while batch N commits, and the two processes
never both write into a full socket. Until the worker is ready, and for the
first batch after a (re)start, batches are decoded here in the materializer's
process, so a restart commits its first batch as soon as it did without a worker;
so are batches of at most ``DECODE_HERE_MAX`` records, which the step then commits
at once instead of after its next poll.
With ``use_worker=False`` (``AGENTTRAIL_DECODE_WORKER=false``; the default on a
single CPU, where a second process is pure overhead) every batch is.

Nothing here is durable: ``close`` drops what is in flight, and the caller
re-reads it from the offsets committed in DuckDB.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agenttrail.consumers.decoding import Decoded, RawRecords, decode_records
from agenttrail.consumers.worker import DecodeWorker
from agenttrail.schemas.codec import Codec

WORKER_PHASES = ("decode", "validate", "arrow")
# A batch this small decodes here in well under a millisecond; the worker's round trip, and the
# poll the step waits through before committing it, would cost tens. A trickle (one leaked
# token's use) is what must reach the policy engine fastest.
DECODE_HERE_MAX = 64


@dataclass
class InFlight:
    """A polled batch: what its commit needs besides the decoded rows."""

    consumed: int
    received_at: datetime
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> next offset
    decoded: Decoded | None = None  # set when decoded in this process
    control: Sequence[Any] = ()  # control-topic records polled with it: few, decoded at commit
    keys: Sequence[Any] = ()  # subject keys polled from the actions topic with it: few, decoded at commit


class DecodePipeline:
    """``submit`` Kafka records, ``take`` them back decoded, oldest first; timings go into ``timings``."""

    def __init__(self, codec: Codec, future_skew: timedelta, timings: dict[str, float], *,
                 use_worker: bool = True) -> None:
        self._use_worker = use_worker
        self._codec = codec
        self._skew = future_skew
        self._timings = timings
        self._worker = DecodeWorker(codec, future_skew)
        self._in_flight: deque[InFlight] = deque()

    @property
    def busy(self) -> bool:
        return bool(self._in_flight)

    @property
    def decoded_here(self) -> bool:
        """True when the oldest batch in flight is already decoded, so taking it does not wait."""
        return bool(self._in_flight) and self._in_flight[0].decoded is not None

    def submit(self, records: Sequence[Any], control: Sequence[Any] = (), keys: Sequence[Any] = ()) -> None:
        """Hand over one polled batch (records of kafka-python's ConsumerRecord shape).

        ``control`` are the control-topic records polled with it, ``keys`` the subject keys
        taken from among its action records: they travel with the batch, so their offsets
        commit with the same transaction.
        """
        t0 = time.perf_counter()
        batch = InFlight(consumed=len(records) + len(control) + len(keys), received_at=datetime.now(UTC),
                         control=control, keys=keys)
        for record in control:
            batch.offsets[(record.topic, record.partition)] = record.offset + 1
        topics, partitions, offsets, values = [], [], [], []
        for record in records:
            topics.append(record.topic)
            partitions.append(record.partition)
            offsets.append(record.offset)
            values.append(record.value)
            batch.offsets[(record.topic, record.partition)] = record.offset + 1
        for record in keys:  # a key may come after the partition's last event in this batch
            at = (record.topic, record.partition)
            batch.offsets[at] = max(batch.offsets.get(at, 0), record.offset + 1)
        raw = RawRecords(batch.received_at, topics, partitions, offsets, values)
        if self._worker.ready and len(records) > DECODE_HERE_MAX:
            self._worker.submit(raw)
            self._timings["submit"] += time.perf_counter() - t0
        else:
            batch.decoded = decode_records(raw, self._codec, self._skew)
            self._timings["decode here"] += time.perf_counter() - t0
        self._in_flight.append(batch)

    def take(self) -> tuple[InFlight, Decoded] | None:
        """The oldest batch and its rows, or None when none is in flight; raises DecodeWorkerError."""
        if not self._in_flight:
            return None
        t0 = time.perf_counter()
        batch = self._in_flight.popleft()
        decoded = batch.decoded or self._worker.result()
        self._timings["wait"] += time.perf_counter() - t0
        for phase in WORKER_PHASES:
            self._timings[phase] += decoded.timings.get(phase, 0.0)
        self._timings["worker cpu"] += decoded.timings.get("cpu", 0.0)
        return batch, decoded

    def start_worker(self) -> None:
        """Start the worker if it does not run (call after a commit: its imports cost CPU)."""
        if self._use_worker:
            self._worker.start()

    def close(self) -> None:
        """Drop the batches in flight and stop the worker."""
        self._in_flight.clear()
        self._worker.close()

