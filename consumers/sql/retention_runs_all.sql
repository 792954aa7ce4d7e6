-- Every retention statement, in store order (columns in agenttrail.checkpoint.RetentionRun's field order).
SELECT run_id, tenant, checkpoint_id, store_seq, days, cutoff, removed, first_removed_seq, last_removed_seq,
       removed_digest, ran_at, key_id, digest, signature
FROM retention_runs
ORDER BY store_seq, tenant, checkpoint_id
