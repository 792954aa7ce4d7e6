-- Leaf v1 of every stored event with first <= store_seq <= last (unordered: callers that build trees sort).
-- row_text is the canonical row: a JSON array of every column but raw, as text, in this fixed order
-- (timestamps as epoch microseconds, money as exact decimal text, nested values as their JSON, NULL as
-- null). It commits to raw through event_hash; callers that check raw hash it against event_sha256.
-- The leaf is RFC 9162's SHA-256(0x00 || row_text), hashed in Python (consumers/leaves.py): DuckDB's
-- sha256 runs at a fraction of hashlib's speed on CPUs with SHA instructions.
SELECT store_seq, event_id, to_json([
        store_seq::VARCHAR, event_id, epoch_us(received_at)::VARCHAR, epoch_us(occurred_at)::VARCHAR,
        tenant, agent_id, agent_version, agent_model, agent_runtime, agent_region, principal_kind,
        principal_id, to_json(actor_chain)::VARCHAR, session_id, trace_id, span_id, parent_span_id,
        parent_event_id, action_type, action_name, phase, resource_kind, resource_id, resource_region,
        outcome, error_code, error_message, duration_us::VARCHAR, token_id, token_fingerprint, token_issuer,
        to_json(token_scopes)::VARCHAR, parent_token_fingerprint, cost_amount::VARCHAR, cost_currency,
        input_tokens::VARCHAR, output_tokens::VARCHAR, data_region, source_address,
        to_json(attributes)::VARCHAR, stream_id, stream_seq::VARCHAR, prev_hash, event_hash,
        schema_fingerprint, kafka_topic, kafka_partition::VARCHAR, kafka_offset::VARCHAR
    ]) AS row_text,
    raw, unhex(event_hash) AS event_sha256
FROM events
WHERE store_seq BETWEEN $first AND $last
