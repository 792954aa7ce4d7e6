-- Record every link the batch completed that does not hold, each pair once (when its later side is stored).
INSERT INTO stream_breaks
SELECT s.stream_id, s.stream_seq, s.event_id, 'prev_hash_mismatch', s.prev_hash, p.event_hash, p.event_id,
       greatest(s.store_seq, p.store_seq)
FROM stream_nearby AS s
JOIN stream_nearby AS p ON p.stream_id = s.stream_id AND p.stream_seq = s.stream_seq - 1
WHERE (s.in_batch OR p.in_batch) AND s.prev_hash IS DISTINCT FROM p.event_hash
UNION ALL
SELECT d.stream_id, d.stream_seq, d.event_id, 'duplicate_seq', d.prev_hash, o.event_hash, o.event_id, d.store_seq
FROM stream_nearby AS d
JOIN stream_nearby AS o ON o.stream_id = d.stream_id AND o.stream_seq = d.stream_seq AND o.store_seq < d.store_seq
WHERE d.in_batch
