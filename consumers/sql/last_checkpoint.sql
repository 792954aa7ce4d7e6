-- The newest checkpoint: where the next one starts and what it chains to.
SELECT checkpoint_id, last_store_seq, digest FROM checkpoints ORDER BY checkpoint_id DESC LIMIT 1
