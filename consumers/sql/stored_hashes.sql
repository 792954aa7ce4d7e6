SELECT event_id, event_hash FROM event_keys WHERE event_id IN (SELECT unnest($ids::VARCHAR[]))
