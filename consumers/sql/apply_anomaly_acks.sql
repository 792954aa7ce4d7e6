-- The batch's acknowledgements (batch_control, kind anomaly.ack): each closes its flag for `--open`.
INSERT INTO anomaly_acks
SELECT
    json_extract_string(payload, '$.flag_id'), tenant, store_seq, received_at, actor_kind || ':' || actor_id,
    json_extract_string(payload, '$.note'), event_id
FROM batch_control
WHERE kind = 'anomaly.ack';
