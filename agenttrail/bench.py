"""`agenttrail bench`: how fast each part of the pipeline is, against the Kafka client's own ceiling.

One run, on a private embedded broker and a temporary directory, measures:

(a) ceiling      pre-encoded events produced and consumed with kafka-python alone (the same
                 acks=all idempotent producer and the same consumer settings), no processing;
(b) sdk          the agent's view: the cost of an async ``Trail.emit`` call and of a whole
                 ``with trail.action(...)`` block, and events/s from the first emit to ``flush``;
(c) materializer events/s from a pre-loaded topic to committed DuckDB rows, and where the time goes;
(e) naive        a deliberately plain materializer on the same topic, as the baseline for (c);
(d) query        the ``trail`` named query for one agent over ``query_events`` stored events.

Every stage has its own topic prefix, so no stage sees another's records, except that
(c) and (e) both read the topic (a) wrote, each from offset 0 into its own DuckDB file.
"Caught up" is always decided by counting consumed records or stored rows: the embedded
broker's high watermarks can lag acknowledged offsets.

Speed is measured, never asserted: targets are printed with a pass/fail mark.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import os
import platform
import random
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from agenttrail._exceptions import AgentTrailError
from agenttrail.broker import EmbeddedBroker
from agenttrail.config import Settings, load_settings
from agenttrail.consumers.batch import EVENT_SCHEMA
from agenttrail.consumers.intake import EVENT_COLUMNS, check, flatten
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.store import open_store, sql
from agenttrail.kafka import (
    KafkaConsumer,
    ensure_topics,
    make_consumer,
    make_producer,
    map_kafka_errors,
    partitions_for,
)
from agenttrail.producers.ids import new_event_id
from agenttrail.producers.trail import connect
from agenttrail.queries.runner import run_query
from agenttrail.schemas.codec import Codec, default_codec

__all__ = [
    "TARGETS",
    "BenchError",
    "BenchReport",
    "CeilingResult",
    "MaterializerResult",
    "Measure",
    "NaiveResult",
    "QueryResult",
    "SdkResult",
    "render_report",
    "report_json",
    "run_bench",
]

# The targets the table compares against.
TARGETS = {
    "emit_p50_us": 10.0,  # async emit call p50, at most
    "sdk_vs_produce": 0.8,  # SDK end-to-end events/s over raw produce msgs/s, at least
    "materializer_vs_naive": 2.0,  # materializer events/s over the naive baseline's, at least
    "materializer_vs_consume": 0.5,  # materializer events/s over raw consume msgs/s, at least
    "materializer_vs_consume_stretch": 0.6,
    "query_p50_ms": 100.0,  # trail query p50, at most
}

ACTION_BLOCKS_MAX = 20_000  # ``with trail.action`` blocks timed (each also emits one event)
EMIT_POOL_MAX = 20_000  # distinct prebuilt events the emit loop cycles through
QUERY_RUNS = 15
QUERY_AGENTS = 50
STALL_S = 60.0  # a stage that makes no progress for this long fails instead of hanging
PROGRESS_EVERY = 5_000


class BenchError(AgentTrailError):
    """A stage could not finish (records missing, a stall): the numbers would be meaningless."""


# -- the report --------------------------------------------------------------------------------------


@dataclass
class CeilingResult:
    messages: int
    avg_bytes: float
    produce_seconds: float
    produce_per_s: float
    consume_seconds: float
    consume_per_s: float


@dataclass
class SdkResult:
    events: int
    emit_p50_us: float
    emit_p99_us: float
    action_blocks: int
    action_p50_us: float
    action_p99_us: float
    seconds: float
    events_per_s: float
    ratio_to_produce: float


@dataclass
class MaterializerResult:
    events: int
    seconds: float
    events_per_s: float
    batches: int
    ratio_to_consume: float
    ratio_to_naive: float
    phases: dict[str, float]  # seconds spent in each phase, summed over batches


@dataclass
class NaiveResult:
    events: int
    seconds: float
    events_per_s: float
    transactions: int


@dataclass
class QueryResult:
    stored_events: int
    agents: int
    agent: str
    since: str
    rows_returned: int
    runs: int
    p50_ms: float
    max_ms: float
    load_seconds: float


@dataclass
class Measure:
    """One row of the table; ``ok`` is None for measures without a target."""

    stage: str
    measure: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""


@dataclass
class BenchReport:
    events: int
    query_events: int
    machine: dict[str, Any]
    ceiling: CeilingResult
    sdk: SdkResult
    materializer: MaterializerResult
    naive: NaiveResult
    query: QueryResult
    seconds: float
    measures: list[Measure] = field(default_factory=list)


# -- realistic events ----------------------------------------------------------------------------------

_TENANTS = (("acme", "eu-west-1"), ("globex", "us-east-1"), ("initech", "ap-southeast-2"),
            ("umbrella", "us-east-1"), ("hooli", "eu-west-1"))
_ROLES = ("onboarding", "billing", "devops", "support", "research", "growth", "ops", "sales", "legal", "data")
_MODELS = ("claude-sonnet-4", "gpt-4.1", "gpt-4.1-mini", "llama-3.1-70b")
_RUNTIMES = ("python-3.12/langgraph-0.4", "node-22/openai-agents-0.1", "python-3.11/crewai-0.120")
_TOOLS = (("search_web", "api", "search.example.com"), ("read_file", "bucket", "{t}-documents"),
          ("sql_query", "database", "{t}-crm"), ("send_email", "api", "mail.example.com"),
          ("http_get", "api", "partner.example.com"))
_KINDS = ("llm.call", "tool.call", "token.use", "agent.run", "agent.plan", "account.create", "deploy.release")
_WEIGHTS = (35, 33, 12, 10, 5, 3, 2)
_NANO = Decimal("0.000000001")


def _agent_ids(count: int) -> list[tuple[str, str, str]]:
    """(agent id, tenant, home region) for ``count`` agents spread over five tenants."""
    agents = []
    for i in range(count):
        tenant, home = _TENANTS[i % len(_TENANTS)]
        role = _ROLES[(i // len(_TENANTS)) % len(_ROLES)]
        generation = i // (len(_TENANTS) * len(_ROLES)) + 1
        agents.append((f"{role}-{tenant}-{generation}", tenant, home))
    return agents


def _identities(count: int) -> list[dict[str, Any]]:
    identities = []
    for i, (agent_id, tenant, home) in enumerate(_agent_ids(count)):
        identities.append({
            "tenant": tenant, "home": home,
            "agent": {"id": agent_id, "version": f"1.{i % 7}.{i % 3}", "model": _MODELS[i % len(_MODELS)],
                      "runtime": _RUNTIMES[i % len(_RUNTIMES)], "region": home},
            "principal": {"kind": "human", "id": f"user{i % 9}@{tenant}.example"},
            "actor_chain": [{"kind": "agent", "id": agent_id}],
            "stream_id": f"{agent_id}/{i:016x}",
            "fingerprint": "hmac-sha256:k1:" + hmac.new(b"bench", agent_id.encode(), hashlib.sha256).hexdigest(),
        })
    return identities


def sample_events(count: int, *, seed: int = 7, agents: int = QUERY_AGENTS) -> Iterator[dict[str, Any]]:
    """Schema-valid events like a fleet records (llm and tool calls with costs, token uses,
    failures), spread over the last day; integrity is left for the caller to chain."""
    rng = random.Random(seed)
    identities = _identities(agents)
    start = datetime.now(UTC) - timedelta(days=1)
    step = timedelta(seconds=86_000 / max(count, 1))
    for k in range(count):
        who = rng.choice(identities)
        kind = rng.choices(_KINDS, _WEIGHTS)[0]
        resource = cost = credential = error = data_region = None
        attributes: dict[str, str] = {}
        name = kind.split(".", 1)[1]
        if kind == "llm.call":
            tokens_in, tokens_out = rng.randint(200, 8000), rng.randint(50, 2000)
            resource = {"kind": "model", "id": who["agent"]["model"], "region": "us-east-1"}
            amount = (Decimal(tokens_in) * Decimal("0.000003") + Decimal(tokens_out) * Decimal("0.000015"))
            cost = {"amount": amount.quantize(_NANO), "currency": "USD",
                    "input_tokens": tokens_in, "output_tokens": tokens_out}
            name = rng.choice(("plan", "draft", "summarize", "reason"))
        elif kind == "tool.call":
            name, resource_kind, resource_id = rng.choice(_TOOLS)
            resource = {"kind": resource_kind, "id": resource_id.format(t=who["tenant"]), "region": who["home"]}
            if resource_kind == "api":
                cost = {"amount": Decimal("0.005"), "currency": "USD", "input_tokens": None, "output_tokens": None}
            else:
                data_region = who["home"]
        elif kind == "token.use":
            name = "call_api"
            resource = {"kind": "api", "id": f"api.{who['tenant']}.example", "region": None}
            credential = {"token_id": f"tok_{k % 997:06d}", "fingerprint": who["fingerprint"],
                          "issuer": f"https://idp.{who['tenant']}.example", "scopes": ["crm:read", "mail:send"],
                          "parent_fingerprint": None}
        elif kind == "agent.run":
            attributes = {"task": f"resolve-ticket-{k}"}
        roll, outcome = rng.random(), "success"
        if roll < 0.03:
            outcome, error = "failure", {"code": "ToolTimeout", "message": f"{name} timed out after 30s"}
        elif roll < 0.05:
            outcome = "denied"
        yield {
            "event_id": new_event_id(), "occurred_at": start + step * k, "tenant": who["tenant"],
            "agent": who["agent"], "principal": who["principal"], "actor_chain": who["actor_chain"],
            "session_id": None, "trace_id": f"{rng.getrandbits(128) | 1:032x}",
            "span_id": f"{rng.getrandbits(64) | 1:016x}", "parent_span_id": f"{rng.getrandbits(64) | 1:016x}",
            "parent_event_id": None,
            "action": {"type": kind, "name": name, "phase": "completed", "resource": resource},
            "outcome": outcome, "error": error, "duration_us": rng.randint(100, 3_000_000),
            "credential": credential, "cost": cost, "data_region": data_region, "source_address": None,
            "attributes": attributes, "integrity": {"stream_id": who["stream_id"], "seq": 0, "prev_hash": None},
        }


def hash_chained(events: Iterable[dict[str, Any]], codec: Codec) -> Iterator[tuple[dict[str, Any], bytes]]:
    """Each event with its integrity set as the SDK sets it, and its encoding: per stream, seq counts
    from 0 without gaps and prev_hash is the SHA-256 of the stream's previous encoded event."""
    chains: dict[str, tuple[int, str | None]] = {}
    for event in events:
        integrity = event["integrity"]
        seq, prev = chains.get(integrity["stream_id"], (0, None))
        integrity["seq"], integrity["prev_hash"] = seq, prev
        value = codec.encode(event)
        chains[integrity["stream_id"]] = (seq + 1, hashlib.sha256(value).hexdigest())
        yield event, value


def encoded_events(count: int, codec: Codec, on_progress: Callable[[int], None]) -> list[tuple[bytes, bytes]]:
    """(key, value) records as the SDK would send them: hash-chained per stream, keyed by tenant."""
    records: list[tuple[bytes, bytes]] = []
    for event, value in hash_chained(sample_events(count), codec):
        records.append((event["tenant"].encode(), value))
        if len(records) % PROGRESS_EVERY == 0:
            on_progress(PROGRESS_EVERY)
    on_progress(len(records) % PROGRESS_EVERY)
    return records


# -- (a) the ceiling -------------------------------------------------------------------------------------


def _produce(settings: Settings, bootstrap: str, records: list[tuple[bytes, bytes]],
             on_progress: Callable[[int], None]) -> float:
    """Seconds from the first send to ``flush`` returning (every record acked or failed).

    One future in PROGRESS_EVERY carries an errback (a callback on each would slow the
    ceiling down); a lost record is caught anyway, because the consume stage counts them all.
    """
    topic = settings.topic("actions")
    failures: list[BaseException] = []
    producer = make_producer(settings, bootstrap)
    try:
        with map_kafka_errors(bootstrap):
            t0 = time.perf_counter()
            for i, (key, value) in enumerate(records, 1):
                future = producer.send(topic, key=key, value=value)
                if i % PROGRESS_EVERY == 0:
                    future.add_errback(failures.append)
                    on_progress(PROGRESS_EVERY)
            producer.flush(timeout=max(STALL_S, len(records) / 1000))
            seconds = time.perf_counter() - t0
    finally:
        producer.close(timeout=5)
    on_progress(len(records) % PROGRESS_EVERY)
    if failures:
        raise BenchError(f"The broker refused records during the produce ceiling: {failures[0]!r}.")
    return seconds


def _assigned_consumer(settings: Settings, bootstrap: str) -> KafkaConsumer:
    consumer = make_consumer(settings, bootstrap)
    with map_kafka_errors(bootstrap):
        parts = partitions_for(consumer, settings.topic("actions"))
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
    return consumer


def _consume(settings: Settings, bootstrap: str, expected: int, on_progress: Callable[[int], None]) -> float:
    """Seconds to poll ``expected`` records from offset 0, doing nothing with them."""
    consumer = _assigned_consumer(settings, bootstrap)
    got, last_progress = 0, time.monotonic()
    try:
        with map_kafka_errors(bootstrap):
            t0 = time.perf_counter()
            while got < expected:
                polled = consumer.poll(timeout_ms=200)
                n = sum(len(part) for part in polled.values())
                got += n
                if n:
                    on_progress(n)
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > STALL_S:
                    raise BenchError(f"The consume ceiling stalled at {got} of {expected} records.")
            seconds = time.perf_counter() - t0
    finally:
        consumer.close()
    return seconds


# -- (b) the SDK -------------------------------------------------------------------------------------


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _sdk(settings: Settings, spool_dir: Path, count: int, on_progress: Callable[[int], None]) -> SdkResult:
    trail = connect(tenant="acme", agent_id="bench-agent", agent_version="1.0.0", region="eu-west-1",
                    principal="service:bench", model="gpt-4.1", settings=settings, spool_dir=spool_dir)
    try:
        pool = [{k: v for k, v in e.items() if k != "integrity"}
                for e in sample_events(min(count, EMIT_POOL_MAX), seed=11)]
        emit, clock = trail.emit, time.perf_counter_ns
        latencies = [0] * count
        flush_timeout = max(STALL_S, count / 500)
        t0 = time.perf_counter()
        for i in range(count):
            event = pool[i % len(pool)]
            start = clock()
            emit(event)
            latencies[i] = clock() - start
            if (i + 1) % PROGRESS_EVERY == 0:
                on_progress(PROGRESS_EVERY)
        on_progress(count % PROGRESS_EVERY)
        if not trail.flush(flush_timeout):
            raise BenchError(f"The SDK did not deliver {count} events within {flush_timeout:.0f} s.")
        seconds = time.perf_counter() - t0
        stats = trail.emitter.stats
        if stats.acked != count:
            raise BenchError(f"The SDK acked {stats.acked} of {count} events (spooled {stats.spooled}, "
                             f"refused {stats.refused}).")

        blocks = min(count, ACTION_BLOCKS_MAX)
        block_latencies = [0] * blocks
        for i in range(blocks):
            start = clock()
            with trail.action("tool.call", "search_web", resource=("api", "search.example.com"),
                              attributes={"query": "q-17"}) as act:
                act.set_cost("0.005", "USD")
            block_latencies[i] = clock() - start
        if not trail.flush(flush_timeout):
            raise BenchError(f"The SDK did not deliver {blocks} action events within {flush_timeout:.0f} s.")
    finally:
        trail.close(timeout=10)
    return SdkResult(
        events=count,
        emit_p50_us=_percentile(latencies, 0.50) / 1000, emit_p99_us=_percentile(latencies, 0.99) / 1000,
        action_blocks=blocks, action_p50_us=_percentile(block_latencies, 0.50) / 1000,
        action_p99_us=_percentile(block_latencies, 0.99) / 1000,
        seconds=seconds, events_per_s=count / seconds, ratio_to_produce=0.0,
    )


# -- (c) the materializer ---------------------------------------------------------------------------


def _materialize(settings: Settings, bootstrap: str, db: Path, expected: int,
                 on_progress: Callable[[int], None]) -> MaterializerResult:
    con = open_store(db)
    materializer = Materializer(settings, bootstrap, con)
    try:
        materializer.start()
        done, batches, last_progress = 0, 0, time.monotonic()
        t0 = time.perf_counter()
        while done < expected:
            result = materializer.step()
            if result is None:
                if time.monotonic() - last_progress > STALL_S:
                    raise BenchError(f"The materializer stalled at {done} of {expected} events.")
                continue
            batches += 1
            handled = result.stored + result.duplicates + result.quarantined
            done += handled
            on_progress(handled)
            last_progress = time.monotonic()
        seconds = time.perf_counter() - t0
        _expect_rows(con, expected, "materializer")
        phases = dict(getattr(materializer, "timings", {}) or {})
    finally:
        materializer.close()
        con.close()
    return MaterializerResult(events=expected, seconds=seconds, events_per_s=expected / seconds, batches=batches,
                              ratio_to_consume=0.0, ratio_to_naive=0.0, phases=phases)


def _expect_rows(con: duckdb.DuckDBPyConnection, expected: int, who: str) -> None:
    row = con.execute("SELECT count(*), (SELECT count(*) FROM quarantine) FROM events").fetchone()
    stored, quarantined = (int(row[0]), int(row[1])) if row else (0, 0)
    if stored != expected or quarantined:
        raise BenchError(f"The {who} stored {stored} of {expected} events and quarantined {quarantined}.")


# -- (e) the naive baseline ---------------------------------------------------------------------------


def naive_materialize(settings: Settings, bootstrap: str, con: duckdb.DuckDBPyConnection, expected: int,
                      on_progress: Callable[[int], None], codec: Codec | None = None) -> int:
    """THE BASELINE, not the product: the plain way to write a Kafka -> DuckDB consumer.

    Per record: decode, check the contract's rules, flatten to a dict; per poll: one
    ``pa.Table.from_pylist`` insert, the offsets upserted and committed in the same
    transaction (so it is exactly-once too). Returns the number of transactions.
    """
    codec = codec or default_codec()
    skew = timedelta(seconds=settings.future_skew_s)
    consumer = _assigned_consumer(settings, bootstrap)
    done = transactions = 0
    last_progress = time.monotonic()
    try:
        while done < expected:
            with map_kafka_errors(bootstrap):
                polled = consumer.poll(timeout_ms=100)
            if not polled:
                if time.monotonic() - last_progress > STALL_S:
                    raise BenchError(f"The naive baseline stalled at {done} of {expected} events.")
                continue
            received_at = datetime.now(UTC)
            rows: list[dict[str, Any]] = []
            offsets: dict[tuple[str, int], int] = {}
            for tp, records in polled.items():
                for record in records:
                    offsets[(tp.topic, tp.partition)] = record.offset + 1
                    event = codec.decode(record.value)
                    if check(event, received_at, skew) is not None:
                        continue  # a real consumer would quarantine it; the bench topic has none
                    values = flatten(event, record.value, done + len(rows), received_at,
                                     record.topic, record.partition, record.offset)
                    rows.append(dict(zip(EVENT_COLUMNS, values, strict=True)))
            con.begin()
            try:
                con.register("batch_events", pa.Table.from_pylist(rows, schema=EVENT_SCHEMA))
                con.execute(sql("insert_events")).fetchall()
                con.unregister("batch_events")
                for (topic, partition), next_offset in offsets.items():
                    con.execute(sql("upsert_offset"), {"topic": topic, "partition": partition,
                                                       "next_offset": next_offset, "topic_id": ""})
                con.commit()
            except BaseException:
                con.rollback()
                raise
            transactions += 1
            done += sum(len(records) for records in polled.values())
            on_progress(sum(len(records) for records in polled.values()))
            last_progress = time.monotonic()
    finally:
        consumer.close()
    return transactions


def _naive(settings: Settings, bootstrap: str, db: Path, expected: int,
           on_progress: Callable[[int], None]) -> NaiveResult:
    con = open_store(db)
    try:
        t0 = time.perf_counter()
        transactions = naive_materialize(settings, bootstrap, con, expected, on_progress)
        seconds = time.perf_counter() - t0
        _expect_rows(con, expected, "naive baseline")
    finally:
        con.close()
    return NaiveResult(events=expected, seconds=seconds, events_per_s=expected / seconds,
                       transactions=transactions)


# -- (d) the trail query ----------------------------------------------------------------------------------

# Rows like the materializer stores, generated inside DuckDB: ~50 agents over 5 tenants, the
# action mix of sample_events, costs on llm and api calls, a week of occurred_at ending now.
_LOAD_EVENTS = """
INSERT INTO events BY NAME
WITH base AS (
    SELECT i,
           hash(i) AS h,
           (i % $agent_count)::INTEGER AS a,
           now() - INTERVAL 7 DAY + to_microseconds((i * (604800000000 // $total))::BIGINT) AS ts
    FROM range($total) AS r(i)
), typed AS (
    SELECT *,
           CASE WHEN h % 100 < 35 THEN 'llm.call' WHEN h % 100 < 68 THEN 'tool.call'
                WHEN h % 100 < 80 THEN 'token.use' WHEN h % 100 < 90 THEN 'agent.run'
                WHEN h % 100 < 95 THEN 'agent.plan' WHEN h % 100 < 98 THEN 'account.create'
                ELSE 'deploy.release' END AS action_type,
           $agents[a + 1] AS agent_id,
           $tenants[a + 1] AS tenant,
           $regions[a + 1] AS region
    FROM base
)
SELECT
    i AS store_seq,
    uuidv7()::VARCHAR AS event_id,
    ts + INTERVAL 40 MILLISECOND AS received_at,
    ts AS occurred_at,
    tenant,
    agent_id,
    '1.' || (a % 7) || '.' || (a % 3) AS agent_version,
    ['claude-sonnet-4', 'gpt-4.1', 'gpt-4.1-mini', 'llama-3.1-70b'][a % 4 + 1] AS agent_model,
    'python-3.12/langgraph-0.4' AS agent_runtime,
    region AS agent_region,
    'human' AS principal_kind,
    'user' || (a % 9) || '@' || tenant || '.example' AS principal_id,
    [{'kind': 'agent', 'id': agent_id}] AS actor_chain,
    NULL AS session_id,
    printf('%016x%016x', h, hash(i + $total)) AS trace_id,
    printf('%016x', hash(i + 2 * $total)) AS span_id,
    printf('%016x', hash(i + 3 * $total)) AS parent_span_id,
    NULL AS parent_event_id,
    action_type,
    CASE action_type WHEN 'llm.call' THEN 'draft' WHEN 'tool.call' THEN 'search_web'
         WHEN 'token.use' THEN 'call_api' ELSE split_part(action_type, '.', 2) END AS action_name,
    'completed' AS phase,
    CASE action_type WHEN 'llm.call' THEN 'model' WHEN 'tool.call' THEN 'api' WHEN 'token.use' THEN 'api' END
        AS resource_kind,
    CASE action_type WHEN 'llm.call' THEN 'gpt-4.1' WHEN 'tool.call' THEN 'search.example.com'
         WHEN 'token.use' THEN 'api.' || tenant || '.example' END AS resource_id,
    CASE WHEN action_type IN ('llm.call', 'tool.call') THEN region END AS resource_region,
    CASE WHEN (h >> 8) % 100 < 3 THEN 'failure' WHEN (h >> 8) % 100 < 5 THEN 'denied' ELSE 'success' END
        AS outcome,
    CASE WHEN (h >> 8) % 100 < 3 THEN 'ToolTimeout' END AS error_code,
    CASE WHEN (h >> 8) % 100 < 3 THEN 'timed out after 30s' END AS error_message,
    ((h >> 16) % 3000000)::BIGINT AS duration_us,
    NULL AS token_id, NULL AS token_fingerprint, NULL AS token_issuer, NULL AS token_scopes,
    NULL AS parent_token_fingerprint,
    CASE action_type WHEN 'llm.call' THEN (((h >> 24) % 60000) / 1000000)::DECIMAL(38, 9)
         WHEN 'tool.call' THEN 0.005::DECIMAL(38, 9) END AS cost_amount,
    CASE WHEN action_type IN ('llm.call', 'tool.call') THEN 'USD' END AS cost_currency,
    CASE action_type WHEN 'llm.call' THEN ((h >> 32) % 8000)::BIGINT END AS input_tokens,
    CASE action_type WHEN 'llm.call' THEN ((h >> 40) % 2000)::BIGINT END AS output_tokens,
    NULL AS data_region,
    NULL AS source_address,
    CASE action_type WHEN 'agent.run' THEN MAP {'task': 'resolve-ticket-' || i}
         ELSE MAP {}::MAP(VARCHAR, VARCHAR) END AS attributes,
    agent_id || '/' || printf('%016x', a) AS stream_id,
    (i // $agent_count)::BIGINT AS stream_seq,
    printf('%016x%016x%016x%016x', hash(i - 1), hash(i + 4 * $total), h, hash(i + 5 * $total)) AS prev_hash,
    printf('%016x%016x%016x%016x', h, hash(i + 6 * $total), hash(i + 7 * $total), hash(i + 8 * $total))
        AS event_hash,
    'bench00000000000' AS schema_fingerprint,
    'bench.actions' AS kafka_topic,
    (a % 3)::INTEGER AS kafka_partition,
    i AS kafka_offset,
    repeat('x', 360)::BLOB AS raw
FROM typed
"""


def _query(db: Path, count: int, on_progress: Callable[[int], None]) -> QueryResult:
    agents = _agent_ids(QUERY_AGENTS)
    con = open_store(db)
    try:
        t0 = time.perf_counter()
        con.execute(_LOAD_EVENTS, {
            "total": count, "agent_count": len(agents), "agents": [a[0] for a in agents],
            "tenants": [a[1] for a in agents], "regions": [a[2] for a in agents],
        })
        con.execute("CHECKPOINT")
        load_seconds = time.perf_counter() - t0
        on_progress(1)
        agent, since = agents[len(agents) // 3][0], "2d"
        timings, rows = [], 0
        for _ in range(QUERY_RUNS):
            start = time.perf_counter()
            rows = run_query(con, "trail", {"agent": agent, "since": since}).num_rows
            timings.append(time.perf_counter() - start)
            on_progress(1)
    finally:
        con.close()
    return QueryResult(stored_events=count, agents=len(agents), agent=agent, since=since, rows_returned=rows,
                       runs=QUERY_RUNS, p50_ms=_percentile(timings, 0.5) * 1000, max_ms=max(timings) * 1000,
                       load_seconds=load_seconds)


# -- the run ------------------------------------------------------------------------------------------


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count() or 0,
        "python": platform.python_version(),
        "kafka-python": _version("kafka-python"),
        "duckdb": _version("duckdb"),
        "fastavro": _version("fastavro"),
        "pyarrow": _version("pyarrow"),
        "load_average_at_start": [round(x, 2) for x in load],
    }


def _settings(bootstrap: str, work: Path, run_id: str, stage: str, key: str) -> Settings:
    settings = load_settings(bootstrap=bootstrap, db=work / "bench.duckdb", spool_dir=work / "spool",
                             fingerprint_key=key, topic_prefix=f"bench-{run_id}-{stage}")
    ensure_topics(settings, bootstrap)
    return settings


def _advance(progress: Progress, task: TaskID) -> Callable[[int], None]:
    return lambda n: progress.advance(task, n)


def run_bench(*, events: int, query_events: int, console: Console, progress: bool = True) -> BenchReport:
    """Run every stage once on a private embedded broker and return the measurements."""
    if events < 1 or query_events < 1:
        raise BenchError("events and query_events must be at least 1.")
    machine = machine_info()
    run_id, key = secrets.token_hex(4), secrets.token_urlsafe(32)
    codec = default_codec()
    started = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    bar = Progress(*columns, console=console, disable=not progress)
    with tempfile.TemporaryDirectory(prefix="agenttrail-bench-") as tmp, EmbeddedBroker() as broker, bar:
        work, bootstrap = Path(tmp), broker.bootstrap
        tasks = {
            "prepare": bar.add_task("encode events", total=events),
            "ceiling": bar.add_task("(a) kafka-python ceiling", total=2 * events),
            "sdk": bar.add_task("(b) SDK emit -> acked", total=events),
            "materializer": bar.add_task("(c) materializer", total=events),
            "naive": bar.add_task("(e) naive baseline", total=events),
            "query": bar.add_task("(d) trail query", total=QUERY_RUNS + 1),
        }
        load = _settings(bootstrap, work, run_id, "load", key)
        with _quiet_gc():
            records = encoded_events(events, codec, _advance(bar, tasks["prepare"]))
        avg_bytes = sum(len(value) for _, value in records) / len(records)

        produce_s = _produce(load, bootstrap, records, _advance(bar, tasks["ceiling"]))
        del records
        consume_s = _consume(load, bootstrap, events, _advance(bar, tasks["ceiling"]))
        ceiling = CeilingResult(messages=events, avg_bytes=avg_bytes, produce_seconds=produce_s,
                                produce_per_s=events / produce_s, consume_seconds=consume_s,
                                consume_per_s=events / consume_s)

        sdk_settings = _settings(bootstrap, work, run_id, "sdk", key)
        sdk = _sdk(sdk_settings, work / "spool" / "sdk", events, _advance(bar, tasks["sdk"]))
        sdk.ratio_to_produce = sdk.events_per_s / ceiling.produce_per_s

        materializer = _materialize(load, bootstrap, work / "bench.duckdb", events,
                                    _advance(bar, tasks["materializer"]))
        naive = _naive(load, bootstrap, work / "naive.duckdb", events, _advance(bar, tasks["naive"]))
        materializer.ratio_to_consume = materializer.events_per_s / ceiling.consume_per_s
        materializer.ratio_to_naive = materializer.events_per_s / naive.events_per_s

        query = _query(work / "query.duckdb", query_events, _advance(bar, tasks["query"]))

    report = BenchReport(events=events, query_events=query_events, machine=machine, ceiling=ceiling, sdk=sdk,
                         materializer=materializer, naive=naive, query=query,
                         seconds=time.perf_counter() - started)
    report.measures = measures(report)
    return report


@contextmanager
def _quiet_gc() -> Iterator[None]:
    """Preparing the records is setup, not a measurement: keep the collector out of its way."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# -- the table ----------------------------------------------------------------------------------------


def measures(report: BenchReport) -> list[Measure]:
    """The table's rows, each target checked."""
    c, s, m, n, q = report.ceiling, report.sdk, report.materializer, report.naive, report.query
    stretch = TARGETS["materializer_vs_consume_stretch"]
    rows = [
        Measure("(a) ceiling", f"produce, kafka-python acks=all, {c.avg_bytes:.0f} B", c.produce_per_s, "msg/s"),
        Measure("(a) ceiling", "consume, kafka-python poll, no processing", c.consume_per_s, "msg/s"),
        Measure("(b) sdk", "async emit call p50", s.emit_p50_us, "µs",
                f"≤ {TARGETS['emit_p50_us']:g} µs", s.emit_p50_us <= TARGETS["emit_p50_us"]),
        Measure("(b) sdk", "async emit call p99", s.emit_p99_us, "µs"),
        Measure("(b) sdk", "action block p50 (with trail.action)", s.action_p50_us, "µs"),
        Measure("(b) sdk", "action block p99", s.action_p99_us, "µs"),
        Measure("(b) sdk", "end to end, emit N + flush", s.events_per_s, "ev/s"),
        Measure("(b) sdk", "÷ raw produce", s.ratio_to_produce, "x",
                f"≥ {TARGETS['sdk_vs_produce']:g}x", s.ratio_to_produce >= TARGETS["sdk_vs_produce"]),
        Measure("(c) materializer", "topic -> committed rows", m.events_per_s, "ev/s"),
        Measure("(c) materializer", "÷ naive baseline", m.ratio_to_naive, "x",
                f"≥ {TARGETS['materializer_vs_naive']:g}x", m.ratio_to_naive >= TARGETS["materializer_vs_naive"]),
        Measure("(c) materializer", "÷ raw consume", m.ratio_to_consume, "x",
                f"≥ {TARGETS['materializer_vs_consume']:g}x (stretch {stretch:g}x)",
                m.ratio_to_consume >= TARGETS["materializer_vs_consume"],
                note=f"stretch {'met' if m.ratio_to_consume >= stretch else 'missed'}"),
    ]
    total = sum(m.phases.values()) or 1.0
    for phase, seconds in m.phases.items():
        rows.append(Measure("(c) materializer", f"  time in {phase}", seconds / m.events * 1e6, "µs/ev",
                            note=f"{seconds / total:.0%} of {total:.1f} s"))
    rows += [
        Measure("(e) naive", "per-record decode, from_pylist insert per poll", n.events_per_s, "ev/s"),
        Measure("(d) query", f"trail, 1 of {q.agents} agents, since {q.since}, over {q.stored_events:,} events, p50",
                q.p50_ms, "ms", f"≤ {TARGETS['query_p50_ms']:g} ms", q.p50_ms <= TARGETS["query_p50_ms"],
                note=f"{q.rows_returned} rows, max {q.max_ms:.1f} ms"),
        Measure("(d) query", "load (INSERT … SELECT over range)", q.load_seconds, "s"),
    ]
    return rows


def _format(value: float, unit: str) -> str:
    if unit in ("msg/s", "ev/s"):
        return f"{value:,.0f} {unit}"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "µs/ev":
        return f"{value:,.1f} µs/ev"
    return f"{value:,.1f} {unit}"


def render_report(report: BenchReport, console: Console) -> None:
    """The measures as a table, then the machine they were measured on."""
    table = Table(title=f"agenttrail bench: {report.events:,} events, {report.query_events:,} stored for the query")
    for name, justify in (("stage", "left"), ("measure", "left"), ("value", "right"), ("target", "left"),
                          ("ok", "center"), ("note", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in report.measures or measures(report):
        mark = "" if row.ok is None else ("[green]✓[/]" if row.ok else "[red]✗[/]")
        table.add_row(row.stage, row.measure, _format(row.value, row.unit), row.target, mark, row.note)
    console.print(table)
    machine = report.machine
    console.print(
        f"machine: {machine['platform']}, {machine['cpu_count']} CPUs ({machine['processor']}), "
        f"Python {machine['python']}, kafka-python {machine['kafka-python']}, duckdb {machine['duckdb']}, "
        f"fastavro {machine['fastavro']}, pyarrow {machine['pyarrow']}; "
        f"load average at start {machine['load_average_at_start']}; total {report.seconds:.0f} s",
        highlight=False,
    )


def report_json(report: BenchReport) -> str:
    data = asdict(report)
    data["measures"] = [asdict(m) for m in (report.measures or measures(report))]
    data["targets"] = TARGETS
    return json.dumps(data, indent=2, ensure_ascii=False)
