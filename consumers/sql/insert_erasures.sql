-- The batch's subject.erase control events (batch_control) as erasures; the keys they destroy are counted after.
INSERT INTO erasures
SELECT event_id, store_seq, tenant, json_extract_string(payload, '$.subject_digest'), occurred_at, received_at, 0
FROM batch_control
WHERE kind = 'subject.erase'
ON CONFLICT DO NOTHING
RETURNING event_id, tenant, subject_digest, erased_at
