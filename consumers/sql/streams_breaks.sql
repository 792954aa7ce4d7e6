-- Record every broken link the batch completed, once per event (when its later side is stored). A
-- sequence number's holder is its first stored copy: each event's prev_hash is checked against the
-- holder of the seq before it, and each later copy of a seq is one duplicate_seq of the holder. So a
-- stream full of copies of one seq costs one row per event, not one per pair, and the rows do not
-- depend on which copies happened to share a batch.
--
-- nearby holds what the batch's links are checked against: the batch itself, each stream's stored head
-- (the event at its highest seq), and, only for late arrivals (seq at or below the stored maximum), the
-- stored events at seq-1, seq and seq+1. In-order arrivals, the common case, read no history.
INSERT INTO stream_breaks
WITH late AS (
    SELECT DISTINCT b.stream_id, b.stream_seq + d.step AS seq
    FROM stream_batch AS b
    JOIN stream_heads AS h ON h.stream_id = b.stream_id AND b.stream_seq <= h.max_seq,
         (VALUES (-1), (0), (1)) AS d(step)
),
nearby AS (
    SELECT store_seq, event_id, stream_id, stream_seq, prev_hash, event_hash, true AS in_batch FROM stream_batch
    UNION
    SELECT h.head_store_seq, h.head_event_id, h.stream_id, h.max_seq, h.head_prev_hash, h.head_hash, false
    FROM stream_heads AS h SEMI JOIN stream_batch AS b ON b.stream_id = h.stream_id
    UNION
    SELECT e.store_seq, e.event_id, e.stream_id, e.stream_seq, e.prev_hash, e.event_hash, false
    FROM events AS e SEMI JOIN late AS k ON e.stream_id = k.stream_id AND e.stream_seq = k.seq
    WHERE e.store_seq < $first_store_seq
),
holders AS (
    SELECT stream_id, stream_seq, min(store_seq) AS store_seq, arg_min(event_id, store_seq) AS event_id,
           arg_min(event_hash, store_seq) AS event_hash, arg_min(in_batch, store_seq) AS in_batch
    FROM nearby
    GROUP BY stream_id, stream_seq
)
SELECT s.stream_id, s.stream_seq, s.event_id, 'prev_hash_mismatch', s.prev_hash, p.event_hash, p.event_id,
       greatest(s.store_seq, p.store_seq)
FROM nearby AS s
JOIN holders AS p ON p.stream_id = s.stream_id AND p.stream_seq = s.stream_seq - 1
WHERE (s.in_batch OR p.in_batch) AND s.prev_hash IS DISTINCT FROM p.event_hash
UNION ALL
SELECT d.stream_id, d.stream_seq, d.event_id, 'duplicate_seq', d.prev_hash, h.event_hash, h.event_id, d.store_seq
FROM nearby AS d
JOIN holders AS h ON h.stream_id = d.stream_id AND h.stream_seq = d.stream_seq AND h.store_seq < d.store_seq
WHERE d.in_batch
