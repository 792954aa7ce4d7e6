SELECT event_id, event_hash FROM control_events WHERE event_id IN (SELECT unnest($ids::VARCHAR[]))
