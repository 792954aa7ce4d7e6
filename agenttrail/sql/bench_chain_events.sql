-- Synthetic chained events for the chain-query benchmark, written straight into the store.
-- Each chain holds $chain_size events as a binary tree (parent of position k is (k - 1) // 2),
-- and its events are stored leaf first, the order agents emit them (a block ends inside its
-- parent's), so every link is made by re-rooting: the projection's common case. Stage (k) seals this
-- store and checks events' inclusion proofs, so each event_hash is the SHA-256 of its (empty) raw bytes.
INSERT INTO events
WITH numbered AS (
    SELECT i, i // $chain_size AS c, i % $chain_size AS k FROM range($total) AS t(i)
),
shaped AS (
    SELECT
        *,
        c % $agents AS a,
        printf('%08x-0000-7000-8000-%012x', c, k) AS event_id,
        CASE WHEN k > 0 THEN printf('%08x-0000-7000-8000-%012x', c, (k - 1) // 2) END AS parent_event_id,
        c * $chain_size + ($chain_size - 1 - k) AS store_seq
    FROM numbered
)
SELECT
    store_seq,
    event_id,
    $t0::TIMESTAMPTZ + to_microseconds(store_seq * 100) AS received_at,
    $t0::TIMESTAMPTZ + to_microseconds(store_seq * 100) AS occurred_at,
    'tenant-' || (a % 5) AS tenant,
    'agent-' || a AS agent_id,
    '1.' || (a % 4) || '.0' AS agent_version,
    'claude-sonnet-4' AS agent_model,
    NULL AS agent_runtime,
    ['eu-west-1', 'us-east-1', 'ap-southeast-2'][1 + a % 3] AS agent_region,
    'human' AS principal_kind,
    'user' || (a % 9) || '@tenant-' || (a % 5) || '.example' AS principal_id,
    [{'kind': 'agent', 'id': 'agent-' || a}] AS actor_chain,
    NULL AS session_id,
    printf('%032x', c) AS trace_id,
    printf('%016x', i) AS span_id,
    NULL AS parent_span_id,
    parent_event_id,
    CASE WHEN k = 0 THEN 'agent.run' WHEN k % 3 = 1 THEN 'llm.call' ELSE 'tool.call' END AS action_type,
    'step-' || k AS action_name,
    'completed' AS phase,
    NULL AS resource_kind,
    NULL AS resource_id,
    NULL AS resource_region,
    CASE WHEN i % 31 = 0 THEN 'failure' ELSE 'success' END AS outcome,
    NULL AS error_code,
    NULL AS error_message,
    1000 + k AS duration_us,
    NULL AS token_id,
    NULL AS token_fingerprint,
    NULL AS token_issuer,
    NULL AS token_scopes,
    NULL AS parent_token_fingerprint,
    CASE WHEN k % 3 = 1 THEN 0.004200000 END AS cost_amount,
    CASE WHEN k % 3 = 1 THEN 'USD' END AS cost_currency,
    CASE WHEN k % 3 = 1 THEN 1200 END AS input_tokens,
    CASE WHEN k % 3 = 1 THEN 300 END AS output_tokens,
    NULL AS data_region,
    NULL AS source_address,
    MAP {}::MAP(VARCHAR, VARCHAR) AS attributes,
    'stream-' || a AS stream_id,
    i AS stream_seq,
    NULL AS prev_hash,
    sha256(''::BLOB) AS event_hash,  -- of its raw bytes, as a stored event's is: stage (k) proves events
    'bench' AS schema_fingerprint,
    'bench.actions' AS kafka_topic,
    0 AS kafka_partition,
    store_seq AS kafka_offset,
    ''::BLOB AS raw
FROM shaped
ORDER BY store_seq
