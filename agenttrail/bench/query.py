"""(d) The ``trail`` named query for one agent over many stored events."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from agenttrail.bench.events import agent_ids
from agenttrail.bench.report import QUERY_AGENTS, QUERY_RUNS, QueryResult, percentile
from agenttrail.consumers.store import open_store
from agenttrail.queries.runner import run_query

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


def load_events(con: duckdb.DuckDBPyConnection, count: int, agents: list[tuple[str, str, str]]) -> float:
    """``count`` events of ``agents`` (``agent_ids``) written into the store, checkpointed; returns the seconds."""
    con.execute("SET enable_progress_bar = false")  # DuckDB draws it on stdout, inside `agenttrail bench --json`
    t0 = time.perf_counter()
    con.execute(_LOAD_EVENTS, {
        "total": count, "agent_count": len(agents), "agents": [a[0] for a in agents],
        "tenants": [a[1] for a in agents], "regions": [a[2] for a in agents],
    })
    con.execute("CHECKPOINT")
    return time.perf_counter() - t0


def measure_query(db: Path, count: int, on_progress: Callable[[int], None]) -> QueryResult:
    agents = agent_ids(QUERY_AGENTS)
    con = open_store(db)
    try:
        load_seconds = load_events(con, count, agents)
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
                       runs=QUERY_RUNS, p50_ms=percentile(timings, 0.5) * 1000, max_ms=max(timings) * 1000,
                       load_seconds=load_seconds)
