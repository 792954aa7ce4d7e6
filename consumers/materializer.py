"""Kafka -> DuckDB, exactly once: rows, quarantine, outbox and offsets commit in one transaction.

The materializer owns batching and offsets; projections only implement
``apply(batch, tx)``. Offsets live in DuckDB beside the rows they produced, so
a crash anywhere resumes from the last commit with nothing lost or doubled.

It is a pipeline (``consumers/pipeline.py``): this process polls batch N+1 and
commits batch N-1 while the decode worker (``consumers/worker.py``) turns batch
N into an Arrow table. Store order (``store_seq``) is assigned here at commit, batches
commit in poll order, and a batch's offsets commit only with its own rows, so
batches in flight are simply read again after a crash. Any failure drops them
and rewinds the consumer to the committed offsets before it is raised.
Partitions are assigned manually (no consumer group): every partition, or with
``AGENTTRAIL_SHARD`` one shard's share of the actions topic and every control
partition, keeping only its tenants' governance changes (``agenttrail.shards``). The broker's identity
(topic ids) is stored with the offsets: a broker that forgot its log, like the
embedded one after a restart, has new topic ids, and the stored offsets are
reset with a warning instead of waiting for offsets that will never come.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail._exceptions import AgentTrailError, BrokerError
from agenttrail.config import Settings
from agenttrail.consumers.alert_delivery import (
    kafka_records,
    notice_records,
    raised_alerts,
    raised_notices,
    webhook_rows,
)
from agenttrail.consumers.batch import (
    OUTBOX_SCHEMA,
    QUARANTINE_SCHEMA,
    Batch,
    Projection,
)
from agenttrail.consumers.control_intake import control_rows, store_control
from agenttrail.consumers.decoding import Decoded
from agenttrail.consumers.intake import conflict, quarantine_row
from agenttrail.consumers.pipeline import DECODE_HERE_MAX, WORKER_PHASES, DecodePipeline, InFlight
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.store import insert_new_events, sql
from agenttrail.consumers.subject_intake import KEYS_SCHEMA, key_rows, store_keys_and_erasures
from agenttrail.kafka import (
    Consumer,
    Producer,
    abandon_producer,
    make_consumer,
    make_producer,
    map_kafka_errors,
    partitions_for,
    topic_ids,
)
from agenttrail.schemas.codec import Codec, control_codec, default_codec, is_subject_key
from agenttrail.schemas.sealing import SubjectKeys
from agenttrail.shards import Ownership, check_store_shard, partition_filter, shard_of

log = logging.getLogger("agenttrail.materializer")

# DuckDB's planning and thread hand-offs dominate a statement over a few rows: a small batch
# (a leaked token's single use) commits ~20% sooner on one thread, and leaves the other core to
# the HTTP reads and the SDK beside it. Large batches keep every thread.
SMALL_BATCH_THREADS = 1

# Overlapping batch N+1's decode with batch N's commit saves the decode's time from every cycle, but an
# event then waits for one more commit before its own. Once the commit takes this many times as long as
# the decode (every projection on: ~8x), that trade costs latency for little throughput, so the step
# waits for the batch it just polled and commits it at once; without projections (~1x) it overlaps.
OVERLAP_MAX_RATIO = 2.0

# DuckDB checkpoints (writes the WAL into the database file) once the WAL passes 128 MB (store.py), inside
# whichever commit crossed it, and that stops every writer: ~1 s here at 2,000 ev/s, on the path of every
# event behind it. An idle step checkpoints first, once the WAL holds this much, so under bursty traffic
# the pause falls between bursts. (A CHECKPOINT from another cursor blocks the batch's statements too.)
IDLE_CHECKPOINT_BYTES = 8 * 1024 * 1024

# Where a batch's time goes, accumulated in Materializer.timings (seconds, time.perf_counter);
# each projection adds its own "project <name>" phase.
# The first phases are this process's and add up to its run time ("decode here": batches decoded
# in this process while the worker starts); decode / validate / arrow are the worker's (and those
# "decode here" batches'), which overlap them. "worker cpu" is the worker's CPU time (not a phase).
PHASES = ("poll", "submit", "decode here", "wait", "insert", "commit", "outbox", "decode", "validate", "arrow")
WORKER_CPU = "worker cpu"


@dataclass
class BatchResult:
    consumed: int
    stored: int
    quarantined: int
    duplicates: int
    received_at: datetime  # when the batch was polled
    notices: int = 0  # revocations and suspensions it put in force (or lifted)


class Materializer:
    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        con: duckdb.DuckDBPyConnection,
        *,
        projections: Sequence[Projection] | None = None,
        codec: Codec | None = None,
        on_notices: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> None:
        """``on_notices`` gets each committed batch's revocation notices, in order, right after its commit."""
        self.settings = settings
        self.bootstrap = bootstrap
        self.con = con
        self.projections = list(default_projections(settings) if projections is None else projections)
        self.codec = codec or default_codec()
        self.control_topic = settings.topic("control")
        self.topics = self.topics_for(settings)
        self._skew = timedelta(seconds=settings.future_skew_s)
        self._consumer: Consumer | None = None
        self._topic_ids: dict[str, str] = {}
        self.ownership = Ownership(shard_of(settings), 0)  # its partition count is learnt at start()
        self._next_seq = self._int(sql("last_store_seq")) + 1
        self._next_quarantine = self._int(sql("last_quarantine_id")) + 1
        self._next_outbox = self._int(sql("last_outbox_id")) + 1
        threads = self._int(sql("current_threads"))
        self._threads_for = {False: threads, True: min(threads, SMALL_BATCH_THREADS)}
        self._small = False  # whether the connection runs on the small-batch thread count now
        self._overlap = True  # whether the next batch's decode overlaps a commit (see OVERLAP_MAX_RATIO)
        [(wal,)] = self.con.execute(sql("wal_path")).fetchall()
        self._wal = Path(wal) if wal else None
        self._publisher: Producer | None = None
        self._outbox_dirty = True  # unknown at start: a crash may have left committed rows unpublished
        self._on_notices = on_notices
        self.caught_up = False  # a step since start found nothing to poll: everything on the log is stored
        self._notices: list[dict[str, Any]] = []  # raised by the batch in its transaction, handed over after commit
        self.timings: dict[str, float] = dict.fromkeys((*PHASES, WORKER_CPU), 0.0)
        self._decoding = DecodePipeline(self.codec, self._skew, self.timings, use_worker=settings.decode_worker)
        self._subject_keys: SubjectKeys | None = None  # derived at the first subject key (needs the fingerprint key)

    # -- start -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Assign this materializer's partitions and seek to the stored offsets (or the start of a new log).

        Its partitions are every partition, or its shard's share (``agenttrail.shards``); ShardError when
        the store was filled as another shard.
        """
        self._topic_ids = topic_ids(self.settings, self.bootstrap, self.topics)
        consumer = make_consumer(self.settings, self.bootstrap)
        stored = {
            (topic, part): (offset, topic_id)
            for topic, part, offset, topic_id in self.con.execute(
                'SELECT topic, "partition", next_offset, topic_id FROM consumer_offsets'
            ).fetchall()
        }
        reads = partition_filter(self.settings)
        with map_kafka_errors(self.bootstrap):
            everything = [tp for topic in self.topics for tp in partitions_for(consumer, topic)]
            assigned = [tp for tp in everything if reads(tp.topic, tp.partition)]
            actions = self.settings.topic("actions")
            try:
                self.ownership = self._ownership(sum(tp.topic == actions for tp in everything))
                check_store_shard(self.con, self.settings.db, self.ownership, filled=bool(stored))
            except AgentTrailError:
                consumer.close()
                raise
            consumer.assign(assigned)
            for tp in assigned:
                offset, topic_id = stored.get((tp.topic, tp.partition), (0, self._topic_ids[tp.topic]))
                if topic_id != self._topic_ids[tp.topic]:
                    log.warning(
                        "%s[%d]: the broker is a new incarnation (topic id %s, stored %s); "
                        "reading its log from the start instead of offset %d",
                        tp.topic, tp.partition, self._topic_ids[tp.topic], topic_id, offset,
                    )
                    offset = 0
                consumer.seek(tp, offset)
        self._consumer = consumer

    def _ownership(self, partitions: int) -> Ownership:
        """Which tenants this materializer owns, once the actions topic's partition count is known."""
        shard = shard_of(self.settings)
        if shard is not None and not partitions:
            raise BrokerError(f"Topic {self.settings.topic('actions')} has no partitions on Kafka at {self.bootstrap}, "
                              f"so shard {shard} owns nothing; `agenttrail serve` creates the topics.")
        return Ownership(shard, partitions)

    def close(self) -> None:
        """Stop consuming; batches in flight are dropped, the next start() re-reads them.

        The stop hook (the sealer) runs first, but whatever it raises, the worker, the
        consumer and the publisher are released.
        """
        try:
            self._idle(stopping=True)
        finally:
            self._decoding.close()
            if self._consumer is not None:
                self._consumer.close()
                self._consumer = None
            if self._publisher is not None:
                self._publisher.close(timeout=5)
                self._publisher = None

    # -- the loop --------------------------------------------------------------------------------

    def run(self, stop: threading.Event, on_batch: Callable[[BatchResult], None] | None = None) -> None:
        if self._consumer is None:
            self.start()
        while not stop.is_set():
            result = self.step()
            if result is not None and on_batch is not None:
                on_batch(result)

    def step(self) -> BatchResult | None:
        """Poll a batch, take the worker's result for the one before it, hand over the new one, commit.

        Returns the committed batch, or None when none was committed. While records keep
        coming and commits are quick (see OVERLAP_MAX_RATIO), one batch is in the worker
        between steps; a step that polls nothing commits it. Otherwise, and for a small
        batch decoded here, a step commits the batch it polled. A result is
        always taken before the next batch is sent, so the two processes never both write
        into a full socket. On any error the batches in flight are dropped and the consumer
        closed, so the next step() re-reads them from the committed offsets.
        """
        clock, timings = time.perf_counter, self.timings
        if self._consumer is None:
            self.start()
        try:
            t0 = clock()
            records = self._collect()
            timings["poll"] += clock() - t0
            done = self._decoding.take()
            if records:
                control = [r for r in records if r.topic == self.control_topic]
                actions = [r for r in records if r.topic != self.control_topic] if control else records
                keys = [r for r in actions if is_subject_key(r.value)]
                if keys:  # subject keys come ahead of the events sealed under them: stored before those
                    actions = [r for r in actions if not is_subject_key(r.value)]
                self._decoding.submit(actions, control, keys)
                if done is None and (self._decoding.decoded_here or not self._overlap):  # commit it now
                    done = self._decoding.take()
            result = None
            if done is not None:
                result = self._commit(*done)
                self._decoding.start_worker()
            elif not records:
                self.caught_up = True
                self._idle()
        except BaseException:
            self.close()
            raise
        t1 = clock()
        try:
            self.publish_outbox()
        except BrokerError as exc:
            if result is None:
                raise
            # The batch is stored: its result must reach the caller (who counts and observes it), and the rows
            # it put in the outbox stay unpublished until a later step publishes them. Raising here lost the
            # result of a stored batch when the broker went away mid-flush (found by tests/faults).
            log.warning("%s The outbox is published again at the next step.", exc)
            if self._publisher is not None:
                abandon_producer(self._publisher)
                self._publisher = None
        timings["outbox"] += clock() - t1
        return result

    def _collect(self) -> list[Any]:
        """Poll until a poll returns less than the maximum, the batch is full, or ~batch_max_ms.

        With a batch in the worker, wait at most a quarter of that: the batch in flight
        is committed only after this poll, and must not wait for a quiet topic.
        """
        assert self._consumer is not None
        limit = self.settings.batch_max_records
        wait_s = self.settings.batch_max_ms / 1000 / (4 if self._decoding.busy else 1)
        deadline = time.monotonic() + wait_s
        records: list[Any] = []
        with map_kafka_errors(self.bootstrap):
            while len(records) < limit:
                wait_ms = max(int((deadline - time.monotonic()) * 1000), 0)
                polled = self._consumer.poll(timeout_ms=wait_ms, max_records=limit - len(records))
                got = [r for part in polled.values() for r in part]
                records.extend(got)
                if len(got) < self.settings.batch_max_records or time.monotonic() >= deadline:
                    break
        return records

    # -- one transaction -------------------------------------------------------------------------

    def _commit(self, batch: InFlight, decoded: Decoded) -> BatchResult:
        """Store one decoded batch, its quarantine and its offsets in one transaction."""
        clock, timings = time.perf_counter, self.timings
        t_insert = t_begin = clock()
        table = decoded.events
        table = table.set_column(0, "store_seq", pc.add(table.column("store_seq"), self._next_seq))
        quarantined, duplicates = list(decoded.quarantine), decoded.duplicates
        control, control_rejected = control_rows(batch.control, control_codec(), batch.received_at,
                                                 self._next_seq + decoded.events.num_rows, self._skew,
                                                 keep=self.ownership.keeps_control)
        quarantined.extend(control_rejected)
        keys, keys_rejected = key_rows(batch.keys, self.subject_keys, batch.received_at) \
            if batch.keys else (KEYS_SCHEMA.empty_table(), [])
        quarantined.extend(keys_rejected)
        tx = self.con
        self._use_threads(small=table.num_rows + len(control) <= DECODE_HERE_MAX)
        tx.begin()
        try:
            stored = insert_new_events(tx, table)
            if stored.num_rows < table.num_rows:
                is_new = pc.is_in(table.column("event_id"), value_set=stored.column("event_id"))
                duplicates_now, conflicts = self._split_resends(tx, table.filter(pc.invert(is_new)),
                                                                batch.received_at)
                duplicates += duplicates_now
                quarantined.extend(conflicts)
            table = stored
            control_table, control_resends, control_conflicts = store_control(tx, control, batch.received_at)
            duplicates += control_resends
            quarantined.extend(control_conflicts)
            if keys.num_rows or control_table.num_rows:
                self._queue_outbox(tx, store_keys_and_erasures(tx, keys, control_table,
                                                               self.settings.topic("erasures")))
            events = Batch(events=table, received_at=batch.received_at, quarantined=len(quarantined),
                           duplicates=duplicates, offsets=batch.offsets, control=control_table)
            t_project = clock()
            timings["insert"] += t_project - t_insert
            for projection in self.projections:
                projection.apply(events, tx)
                t_next = clock()
                timings[f"project {projection.name}"] = timings.get(f"project {projection.name}", 0.0) + (
                    t_next - t_project)
                t_project = t_next
            t_insert = t_project
            self._queue_derived(tx, events)
            self._insert_quarantine(tx, quarantined)
            for (topic, partition), next_offset in batch.offsets.items():
                tx.execute(sql("upsert_offset"), {"topic": topic, "partition": partition,
                                                  "next_offset": next_offset,
                                                  "topic_id": self._topic_ids.get(topic, "")})
            if duplicates:
                tx.execute(sql("add_counter"), {"name": "duplicates", "amount": duplicates})
            t_commit = clock()
            timings["insert"] += t_commit - t_insert
            tx.commit()
            t_end = clock()
            timings["commit"] += t_end - t_commit
        except BaseException:
            tx.rollback()
            self._notices = []
            raise
        notices, self._notices = self._notices, []
        if notices and self._on_notices is not None:
            self._on_notices(notices)
        decode_s = sum(decoded.timings.get(phase, 0.0) for phase in WORKER_PHASES)
        self._overlap = t_end - t_begin <= OVERLAP_MAX_RATIO * decode_s
        self._next_seq += decoded.events.num_rows + len(control)
        return BatchResult(batch.consumed, table.num_rows + control_table.num_rows, len(quarantined), duplicates,
                           batch.received_at, len(notices))

    @property
    def subject_keys(self) -> SubjectKeys:
        """What unwraps subject keys (ConfigError without AGENTTRAIL_FINGERPRINT_KEY)."""
        if self._subject_keys is None:
            self._subject_keys = SubjectKeys(self.settings.fingerprint_key, self.settings.fingerprint_key_id)
        return self._subject_keys

    @staticmethod
    def topics_for(settings: Settings) -> list[str]:
        """The topics a materializer reads: actions, then control."""
        return [settings.topic("actions"), settings.topic("control")]

    def _use_threads(self, *, small: bool) -> None:
        """DuckDB's thread count for the next transaction (a database-wide setting, changed only when it must)."""
        if small != self._small:
            self.con.execute(sql("set_threads"), {"threads": self._threads_for[small]})
            self._small = small

    def _split_resends(self, tx: duckdb.DuckDBPyConnection, resent: pa.Table,
                       received_at: datetime) -> tuple[int, list[dict[str, Any]]]:
        """Events already stored: identical bytes are a harmless resend, different bytes a conflict."""
        rows = resent.select(["event_id", "tenant", "event_hash", "raw", "kafka_topic", "kafka_partition",
                              "kafka_offset"]).to_pylist()
        stored = dict(tx.execute(sql("stored_hashes"), {"ids": [r["event_id"] for r in rows]}).fetchall())
        conflicts = [
            quarantine_row(conflict(row["event_id"], row["tenant"]), row["raw"], received_at,
                           row["kafka_topic"], row["kafka_partition"], row["kafka_offset"])
            for row in rows if stored.get(row["event_id"]) != row["event_hash"]
        ]
        return len(rows) - len(conflicts), conflicts

    def _insert_quarantine(self, tx: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        first = self._next_quarantine
        quarantine = pa.Table.from_pylist(
            [{"quarantine_id": first + i, **row} for i, row in enumerate(rows)], schema=QUARANTINE_SCHEMA)
        tx.register("batch_quarantine", quarantine)
        tx.execute(sql("insert_quarantine"))
        tx.unregister("batch_quarantine")
        self._next_quarantine += len(rows)
        self._queue_outbox(tx, [
            {"topic": self.settings.topic("deadletter"), "key": None, "value": row["raw"] or b"",
             "headers": [("reason", row["reason"]), ("detail", row["detail"]),
                         ("raw_sha256", row["raw_sha256"]), ("source", f"{row['kafka_topic']}/"
                         f"{row['kafka_partition']}/{row['kafka_offset']}")]}
            for row in rows
        ])

    def _queue_derived(self, tx: duckdb.DuckDBPyConnection, batch: Batch) -> None:
        """What the projections raised at this batch's events: alerts (for the alerts topic and the
        webhooks) and revocation notices (for the compacted revocations topic the SDK guard follows)."""
        span = batch.seq_span()
        if span is None:
            return
        self._notices = raised_notices(tx, *span)
        self._queue_outbox(tx, notice_records(self._notices, self.settings.topic("revocations")))
        alerts = raised_alerts(tx, *span)
        if not alerts:
            return
        self._queue_outbox(tx, kafka_records(alerts, self.settings.topic("alerts")))
        deliveries = webhook_rows(alerts, self.settings.webhooks, batch.received_at)
        if deliveries:
            tx.register("batch_deliveries", pa.Table.from_pylist(deliveries))
            tx.execute(sql("insert_webhook_deliveries")).fetchall()
            tx.unregister("batch_deliveries")

    def _queue_outbox(self, tx: duckdb.DuckDBPyConnection, records: list[dict[str, Any]]) -> None:
        """Records to publish once the transaction commits (topic, key, value, headers)."""
        if not records:
            return
        first = self._next_outbox
        rows = [{"outbox_id": first + i, "published_at": None, **record} for i, record in enumerate(records)]
        tx.register("batch_outbox", pa.Table.from_pylist(rows, schema=OUTBOX_SCHEMA))
        tx.execute(sql("insert_outbox"))
        tx.unregister("batch_outbox")
        self._next_outbox += len(rows)
        self._outbox_dirty = True

    # -- after commit ----------------------------------------------------------------------------

    def publish_outbox(self, limit: int = 1000) -> int:
        """Publish committed outbox rows (at least once; receivers dedup by the source header).

        Looks only when a batch wrote to the outbox since the last look, so an idle or
        clean stream does not scan the (growing) outbox table after every batch.
        """
        if not self._outbox_dirty:
            return 0
        pending = self.con.execute(sql("unpublished_outbox"), {"limit": limit}).fetchall()
        if not pending:
            self._outbox_dirty = False
            return 0
        if self._publisher is None:
            self._publisher = make_producer(self.settings, self.bootstrap)
        with map_kafka_errors(self.bootstrap):
            for _, topic, key, value, headers in pending:
                self._publisher.send(topic, key=key, value=value,
                                     headers=[(k, v.encode()) for k, v in headers.items()])
            self._publisher.flush(timeout=self.settings.delivery_timeout_ms / 1000)
        self.con.execute(sql("mark_published"), {"ids": [row[0] for row in pending]})
        self._outbox_dirty = len(pending) == limit  # a full page may have more behind it
        return len(pending)

    def _idle(self, *, stopping: bool = False) -> None:
        """Nothing polled, or we stop: projections with ``on_idle(con, stopping)`` (the sealer) get a turn,
        then a checkpoint if the WAL has grown (see IDLE_CHECKPOINT_BYTES)."""
        for projection in self.projections:
            on_idle = getattr(projection, "on_idle", None)
            if on_idle is not None:
                on_idle(self.con, stopping=stopping)
        if stopping or self._wal is None or not self._wal.exists():
            return
        if self._wal.stat().st_size >= IDLE_CHECKPOINT_BYTES:
            try:
                self.con.execute(sql("checkpoint_wal"))
            except duckdb.TransactionException:  # DuckDB before 1.4 refuses while serve's cursor is in one
                log.debug("idle checkpoint skipped: another transaction is open; the next idle step retries")

    def _int(self, query: str) -> int:
        """The one integer ``query`` selects, 0 for NULL (an empty table's max)."""
        [(value,)] = self.con.execute(query).fetchall()  # fetchall: DuckDB 2 refuses relations behind an open result
        return int(value) if value is not None else 0

