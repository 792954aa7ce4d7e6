INSERT INTO retention_removed VALUES ($run_id, $tenant, $checkpoint_id, $store_seq, $event_id)
