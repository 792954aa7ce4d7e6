-- The retention statements of one checkpoint ($checkpoint_id), columns in RetentionRun's field order.
SELECT run_id, tenant, checkpoint_id, store_seq, days, cutoff, removed, first_removed_seq, last_removed_seq,
       removed_digest, ran_at, key_id, digest, signature
FROM retention_runs
WHERE checkpoint_id = $checkpoint_id
ORDER BY store_seq, tenant
