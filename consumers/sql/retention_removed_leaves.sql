-- What every run removed, with each event's leaf as recorded at sealing, in store order per statement (run,
-- tenant, checkpoint).
SELECT r.run_id, r.tenant, r.checkpoint_id, r.store_seq, r.event_id, l.leaf
FROM retention_removed AS r
LEFT JOIN checkpoint_leaves AS l ON l.store_seq = r.store_seq AND l.event_id = r.event_id
ORDER BY r.run_id, r.tenant, r.checkpoint_id, r.store_seq, r.event_id
