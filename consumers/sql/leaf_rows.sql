-- Leaf v1 of every stored event with first <= store_seq <= last, in store order.
-- row_text is the canonical row: JSON of every column but raw, in this fixed order, timestamps as
-- epoch microseconds and money as exact decimal text. It commits to raw through event_hash, and
-- raw_ok re-hashes raw. leaf is RFC 9162's SHA-256(0x00 || row_text), hex.
SELECT store_seq, event_id, row_text, sha256('\x00'::BLOB || encode(row_text)) AS leaf,
       sha256(raw) = event_hash AS raw_ok
FROM (
    SELECT store_seq, event_id, raw, event_hash, to_json(struct_pack(
        store_seq, event_id, received_at := epoch_us(received_at), occurred_at := epoch_us(occurred_at),
        tenant, agent_id, agent_version, agent_model, agent_runtime, agent_region, principal_kind,
        principal_id, actor_chain, session_id, trace_id, span_id, parent_span_id, parent_event_id,
        action_type, action_name, phase, resource_kind, resource_id, resource_region, outcome, error_code,
        error_message, duration_us, token_id, token_fingerprint, token_issuer, token_scopes,
        parent_token_fingerprint, cost_amount := cost_amount::VARCHAR, cost_currency, input_tokens,
        output_tokens, data_region, source_address, attributes, stream_id, stream_seq, prev_hash,
        event_hash, schema_fingerprint, kafka_topic, kafka_partition, kafka_offset
    )) AS row_text
    FROM events
    WHERE store_seq BETWEEN $first AND $last
)
ORDER BY store_seq, event_id
