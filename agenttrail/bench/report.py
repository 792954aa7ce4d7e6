"""What a bench run returns: the targets, the per-stage results and the shared knobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agenttrail._exceptions import AgentTrailError

# The targets the table compares against.
TARGETS = {
    "emit_p50_us": 10.0,  # async emit call p50, at most
    "sdk_vs_produce": 0.8,  # SDK end-to-end events/s over raw produce msgs/s, at least
    "materializer_vs_naive": 2.0,  # materializer events/s over the naive baseline's, at least
    "materializer_vs_consume": 0.5,  # materializer events/s over raw consume msgs/s, at least
    "materializer_vs_consume_stretch": 0.6,
    "query_p50_ms": 100.0,  # trail query p50, at most
    "chain_query_p50_ms": 50.0,  # chain query for one event over query_events stored events, at most
    "verify_events_per_s": 200_000.0,  # verify re-hashing throughput, at least
    "sealing_share": 0.15,  # share of ingest time spent sealing Merkle checkpoints, at most
    "detection_recall": 0.95,  # injected anomalies of each kind flagged, held-out seeds, at least
    "detection_precision": 0.9,  # flags that match an injected anomaly, held-out seeds, at least
    "detection_delay_p95_s": 2.0,  # raising event emitted -> flag committed, live, at most
    "revocation_p99_ms": 500.0,  # offending event emitted -> status endpoint / SDK guard refuses, at most
    "console_page_ms": 300.0,  # console trail search and chain view, server time p50/p95/max, at most
    "otlp_spans_per_s": 5000.0,  # OTLP spans accepted through serve's POST /v1/traces, at least
    "blast_radius_ms": 1000.0,  # a blast radius report over query_events stored events, p50, at most
}

ACTION_BLOCKS_MAX = 20_000  # ``with trail.action`` blocks timed (each also emits one event)
EMIT_POOL_MAX = 20_000  # distinct prebuilt events the emit loop cycles through
QUERY_RUNS = 15
QUERY_AGENTS = 50
STALL_S = 60.0  # a stage that makes no progress for this long fails instead of hanging
PROGRESS_EVERY = 5_000


class BenchError(AgentTrailError):
    """A stage could not finish (records missing, a stall): the numbers would be meaningless."""


# -- results --------------------------------------------------------------------------------------


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
    cpu_seconds: float  # CPU time of the materializer's process (all its threads)
    worker_cpu_seconds: float  # CPU time of the decode worker process


@dataclass
class NaiveResult:
    events: int
    seconds: float
    events_per_s: float
    cpu_seconds: float
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
    projected: MaterializerResult  # (f) the same topic with every projection
    verify: dict[str, Any]  # (g) agenttrail verify over the store (f) wrote
    chain_query: dict[str, Any]  # (h) the chain query over query_events stored events
    detection: dict[str, Any] | None  # (i) anomaly detection on labelled fleets; None when skipped
    revocation: dict[str, Any] | None  # (j) leaked token -> refused, through `agenttrail serve`; None when skipped
    console: dict[str, Any]  # (k) console page loads over stage (h)'s store, sealed
    otlp: dict[str, Any] | None  # (l) OTLP spans through `agenttrail serve`; None when skipped
    leak_cascade: dict[str, Any] | None  # (m) leak report -> whole tree revoked, through serve; None when skipped
    blast_radius: dict[str, Any]  # (m) the blast radius report over query_events stored events
    privacy: dict[str, Any]  # (o) sealing in the SDK, a retention run over (f)'s store, verify after it
    seconds: float
    scale_out: dict[str, Any] | None = None  # (n) 1, 2 and 3 `serve --shard` processes; None when skipped
    measures: list[Measure] = field(default_factory=list)



def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0
