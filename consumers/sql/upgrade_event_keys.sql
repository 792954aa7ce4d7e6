-- Schema version 1 -> 2: idempotence moves from a primary key on events to event_keys.
INSERT INTO event_keys SELECT event_id, event_hash FROM events ON CONFLICT DO NOTHING;
UPDATE store_meta SET value = '2' WHERE key = 'schema_version';
