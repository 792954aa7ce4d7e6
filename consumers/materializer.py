"""Kafka -> DuckDB, exactly once: rows, quarantine, outbox and offsets commit in one transaction.

The materializer owns batching and offsets; projections only implement
``apply(batch, tx)``. Offsets live in DuckDB beside the rows they produced, so
a crash anywhere resumes from the last commit with nothing lost or doubled.
Partitions are assigned manually (no consumer group). The broker's identity
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
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail.config import Settings
from agenttrail.consumers.alert_delivery import kafka_records, raised_alerts, webhook_rows
from agenttrail.consumers.batch import (
    OUTBOX_SCHEMA,
    QUARANTINE_SCHEMA,
    Batch,
    Projection,
    event_table,
)
from agenttrail.consumers.control_intake import control_rows, store_control
from agenttrail.consumers.intake import (
    EVENT_HASH,
    EVENT_ID,
    RAW,
    TENANT,
    WHERE,
    Rejection,
    check,
    decode,
    flatten,
    quarantine_row,
)
from agenttrail.consumers.projections import default_projections
from agenttrail.consumers.store import sql
from agenttrail.kafka import (
    KafkaConsumer,
    make_consumer,
    make_producer,
    map_kafka_errors,
    partitions_for,
    topic_ids,
)
from agenttrail.schemas.codec import Codec, control_codec, default_codec

log = logging.getLogger("agenttrail.materializer")

# Where a batch's time goes, accumulated in Materializer.timings (seconds, time.perf_counter).
PHASES = ("poll", "decode", "validate", "arrow", "insert", "commit", "outbox")


@dataclass
class BatchResult:
    consumed: int
    stored: int
    quarantined: int
    duplicates: int


class Materializer:
    def __init__(
        self,
        settings: Settings,
        bootstrap: str,
        con: duckdb.DuckDBPyConnection,
        *,
        projections: Sequence[Projection] | None = None,
        codec: Codec | None = None,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.con = con
        self.projections = list(default_projections(settings) if projections is None else projections)
        self.codec = codec or default_codec()
        self.control_topic = settings.topic("control")
        self.topics = [settings.topic("actions"), self.control_topic]
        self._skew = timedelta(seconds=settings.future_skew_s)
        self._consumer: KafkaConsumer | None = None
        self._topic_ids: dict[str, str] = {}
        self._next_seq = self._max(sql("last_store_seq")) + 1
        self._next_quarantine = self._max("SELECT max(quarantine_id) FROM quarantine") + 1
        self._next_outbox = self._max("SELECT max(outbox_id) FROM outbox") + 1
        self._publisher: Any = None
        self._outbox_dirty = True  # unknown at start: a crash may have left committed rows unpublished
        self.timings: dict[str, float] = dict.fromkeys(PHASES, 0.0)

    # -- start -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Assign every partition and seek to the stored offsets (or the start of a new log)."""
        self._topic_ids = topic_ids(self.settings, self.bootstrap, self.topics)
        consumer = make_consumer(self.settings, self.bootstrap)
        stored = {
            (topic, part): (offset, topic_id)
            for topic, part, offset, topic_id in self.con.execute(
                'SELECT topic, "partition", next_offset, topic_id FROM consumer_offsets'
            ).fetchall()
        }
        with map_kafka_errors(self.bootstrap):
            assigned = [tp for topic in self.topics for tp in partitions_for(consumer, topic)]
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

    def close(self) -> None:
        self._idle(stopping=True)
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
        """Poll one batch, commit it, publish the outbox; None when nothing arrived."""
        t0 = time.perf_counter()
        records = self._collect()
        self.timings["poll"] += time.perf_counter() - t0
        result = self.process(records) if records else None
        if result is None:
            self._idle()
        t1 = time.perf_counter()
        self.publish_outbox()
        self.timings["outbox"] += time.perf_counter() - t1
        return result

    def _collect(self) -> list[Any]:
        """Poll until a poll returns less than the maximum, the batch is full, or ~batch_max_ms."""
        assert self._consumer is not None, "call start() first"
        limit = self.settings.batch_max_records
        deadline = time.monotonic() + self.settings.batch_max_ms / 1000
        records: list[Any] = []
        with map_kafka_errors(self.bootstrap):
            while len(records) < limit:
                wait_ms = max(int((deadline - time.monotonic()) * 1000), 0)
                polled = self._consumer.poll(timeout_ms=wait_ms, max_records=limit - len(records))
                got = [r for part in polled.values() for r in part]
                records.extend(got)
                if len(got) < self._consumer.config["max_poll_records"] or time.monotonic() >= deadline:
                    break
        return records

    # -- one transaction -------------------------------------------------------------------------

    def process(self, records: Sequence[Any]) -> BatchResult:
        """Store a batch of Kafka records exactly once; safe to call with records seen before."""
        received_at = datetime.now(UTC)
        control_records = [r for r in records if r.topic == self.control_topic]
        if control_records:
            records = [r for r in records if r.topic != self.control_topic]
        rows: list[tuple[Any, ...]] = []
        quarantined: list[dict[str, Any]] = []
        seen: dict[str, str] = {}
        duplicates = 0
        offsets: dict[tuple[str, int], int] = {}
        clock, decoding = time.perf_counter, 0.0
        started = clock()
        for record in records:
            offsets[(record.topic, record.partition)] = record.offset + 1
            where = (received_at, record.topic, record.partition, record.offset)
            t0 = clock()
            event, rejection = decode(self.codec, record.value)
            decoding += clock() - t0
            if event is not None:
                rejection = check(event, received_at, self._skew)
            if rejection is not None:
                quarantined.append(quarantine_row(rejection, record.value, *where))
                continue
            assert event is not None
            row = flatten(event, record.value, self._next_seq + len(rows), *where)
            previous = seen.get(event["event_id"])
            if previous is not None:
                if previous == row[EVENT_HASH]:
                    duplicates += 1
                else:
                    quarantined.append(quarantine_row(_conflict(event), record.value, *where))
                continue
            seen[event["event_id"]] = row[EVENT_HASH]
            rows.append(row)
            if event["action"]["type"] == "audit.refused":
                quarantined.append(quarantine_row(_refused(event), None, *where))

        control, control_rejected = control_rows(control_records, control_codec(), received_at,
                                                 self._next_seq + len(rows), self._skew)
        quarantined.extend(control_rejected)
        for record in control_records:
            offsets[(record.topic, record.partition)] = record.offset + 1

        timings = self.timings
        t_arrow = clock()
        timings["decode"] += decoding
        timings["validate"] += t_arrow - started - decoding
        tx = self.con
        tx.begin()
        try:
            table = event_table(rows)
            t_insert = clock()
            timings["arrow"] += t_insert - t_arrow
            tx.register("batch_events", table)
            inserted = {r[0] for r in tx.execute(sql("insert_events")).fetchall()}
            tx.unregister("batch_events")
            if len(inserted) < len(rows):
                duplicates_now, conflicts = self._split_resends(tx, rows, inserted, received_at)
                duplicates += duplicates_now
                quarantined.extend(conflicts)
                table = table.filter(pa.array([r[EVENT_ID] in inserted for r in rows]))
            control_table, control_resends, control_conflicts = store_control(tx, control, received_at)
            duplicates += control_resends
            quarantined.extend(control_conflicts)
            batch = Batch(events=table, received_at=received_at, quarantined=len(quarantined),
                          duplicates=duplicates, offsets=offsets, control=control_table)
            for projection in self.projections:
                projection.apply(batch, tx)
            self._queue_alerts(tx, table, received_at)
            self._insert_quarantine(tx, quarantined)
            for (topic, partition), next_offset in offsets.items():
                tx.execute(sql("upsert_offset"), {"topic": topic, "partition": partition,
                                                  "next_offset": next_offset,
                                                  "topic_id": self._topic_ids.get(topic, "")})
            if duplicates:
                tx.execute(sql("add_counter"), {"name": "duplicates", "amount": duplicates})
            t_commit = clock()
            timings["insert"] += t_commit - t_insert
            tx.commit()
            timings["commit"] += clock() - t_commit
        except BaseException:
            tx.rollback()
            raise
        self._next_seq += len(rows) + len(control)
        stored = len(inserted) + control_table.num_rows
        return BatchResult(len(records) + len(control_records), stored, len(quarantined), duplicates)

    def _split_resends(self, tx: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]],
                       inserted: set[str], received_at: datetime) -> tuple[int, list[dict[str, Any]]]:
        """Events already stored: identical bytes are a harmless resend, different bytes a conflict."""
        resent = {r[EVENT_ID]: r for r in rows if r[EVENT_ID] not in inserted}
        stored = dict(tx.execute(sql("stored_hashes"), {"ids": list(resent)}).fetchall())
        conflicts = [
            quarantine_row(_conflict({"event_id": eid, "tenant": row[TENANT]}), row[RAW], received_at, *row[WHERE])
            for eid, row in resent.items() if stored.get(eid) != row[EVENT_HASH]
        ]
        return len(resent) - len(conflicts), conflicts

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

    def _queue_alerts(self, tx: duckdb.DuckDBPyConnection, events: pa.Table, received_at: datetime) -> None:
        """Alerts the projections raised at this batch's events, for the alerts topic and the webhooks."""
        if not events.num_rows:
            return
        seqs = pc.min_max(events["store_seq"])
        alerts = raised_alerts(tx, seqs["min"].as_py(), seqs["max"].as_py())
        if not alerts:
            return
        self._queue_outbox(tx, kafka_records(alerts, self.settings.topic("alerts")))
        deliveries = webhook_rows(alerts, self.settings.webhooks, received_at)
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
        """A poll came back empty, or we stop: projections with ``on_idle(con, stopping)`` (the sealer) get a turn."""
        for projection in self.projections:
            on_idle = getattr(projection, "on_idle", None)
            if on_idle is not None:
                on_idle(self.con, stopping=stopping)

    def _max(self, query: str) -> int:
        [(value,)] = self.con.execute(query).fetchall()  # fetchall: DuckDB 2 refuses relations behind an open result
        return int(value) if value is not None else 0


def _conflict(event: dict[str, Any]) -> Rejection:
    return Rejection("conflicting_duplicate",
                     f"event_id {event['event_id']} was already stored with different bytes", event=event)


def _refused(event: dict[str, Any]) -> Rejection:
    attributes = event["attributes"]
    detail = f"{attributes.get('reason', '?')}: {attributes.get('detail', '')}"
    return Rejection("refused_by_producer", detail,
                     event={"event_id": attributes.get("refused_event_id"), "tenant": event["tenant"]})
