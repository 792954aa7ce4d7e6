-- The exact stored bytes of one event.
SELECT raw FROM events WHERE store_seq = $store_seq AND event_id = $event_id
