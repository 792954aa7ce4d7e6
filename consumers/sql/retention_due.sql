-- The sealed events of $tenant received before $cutoff, in store order, with their checkpoint and their leaves as
-- recorded at sealing (an event not sealed yet is left for a later run).
SELECT l.checkpoint_id, e.store_seq, e.event_id, l.leaf
FROM events AS e
JOIN checkpoint_leaves AS l ON l.store_seq = e.store_seq AND l.event_id = e.event_id
WHERE e.tenant = $tenant AND e.received_at < $cutoff
ORDER BY e.store_seq, e.event_id
