INSERT INTO event_keys SELECT event_id, event_hash FROM batch_events ON CONFLICT DO NOTHING RETURNING event_id
