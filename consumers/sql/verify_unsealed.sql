-- Stored events after the last checkpoint: not tamper-evident until the sealer covers them.
SELECT count(*), min(store_seq) FROM events WHERE store_seq > (SELECT coalesce(max(last_store_seq), 0) FROM checkpoints)
