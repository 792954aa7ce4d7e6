SELECT event_id, event_hash FROM events WHERE event_id IN (SELECT unnest($ids::VARCHAR[]))
