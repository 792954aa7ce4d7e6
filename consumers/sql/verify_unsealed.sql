-- Stored events after the last checkpoint (not tamper-evident until sealed), and those among them whose
-- raw bytes no longer hash to their event_hash.
SELECT count(*), min(store_seq), count(*) FILTER (WHERE sha256(raw) <> event_hash)
FROM events
WHERE store_seq > (SELECT coalesce(max(last_store_seq), 0) FROM checkpoints)
