-- References unsealed in this batch (batch_values: ref, key_id, kind, value).
INSERT INTO sealed_values BY NAME SELECT * FROM batch_values ON CONFLICT DO NOTHING
