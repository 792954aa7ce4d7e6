INSERT INTO retention_runs VALUES ($run_id, $tenant, $checkpoint_id, $store_seq, $days, $cutoff, $removed,
    $first_removed_seq, $last_removed_seq, $removed_digest, $ran_at, $key_id, $digest, $signature)
ON CONFLICT DO NOTHING
