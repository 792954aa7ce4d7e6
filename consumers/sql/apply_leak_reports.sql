-- The batch's leak reports (batch_control, kind leak.reported), each kept as reported.
INSERT INTO leak_reports BY NAME
SELECT event_id AS control_event_id, store_seq, received_at AS reported_at, tenant,
       json_extract_string(payload, '$.fingerprint') AS fingerprint,
       CAST(json_extract_string(payload, '$.exposed_at') AS TIMESTAMPTZ) AS exposed_at,
       json_extract_string(payload, '$.source_url') AS source_url,
       json_extract_string(payload, '$.found_in') AS found_in,
       json_extract_string(payload, '$.token_type') AS token_type,
       json_extract_string(payload, '$.reporter') AS reporter,
       json_extract_string(payload, '$.label') AS label,
       actor_kind || ':' || actor_id AS reported_by, reason
FROM batch_control
WHERE kind = 'leak.reported';
