-- The events retention removed from one checkpoint ($checkpoint_id), with their leaves as recorded at sealing.
SELECT r.run_id, r.tenant, r.store_seq, r.event_id, l.leaf
FROM retention_removed AS r
JOIN checkpoint_leaves AS l ON l.store_seq = r.store_seq AND l.event_id = r.event_id
WHERE r.checkpoint_id = $checkpoint_id
ORDER BY r.store_seq, r.event_id
