-- The events each batch event's links are checked against: the batch itself, each stream's stored head
-- (the event at its highest seq), and, only for late arrivals (seq at or below the stored maximum), the
-- stored events at seq-1, seq and seq+1. In-order arrivals, the common case, read no history.
CREATE OR REPLACE TEMP TABLE stream_nearby AS
WITH late AS (
    SELECT DISTINCT b.stream_id, b.stream_seq + d.step AS seq
    FROM stream_batch AS b
    JOIN stream_heads AS h ON h.stream_id = b.stream_id AND b.stream_seq <= h.max_seq,
         (VALUES (-1), (0), (1)) AS d(step)
)
SELECT store_seq, event_id, stream_id, stream_seq, prev_hash, event_hash, true AS in_batch FROM stream_batch
UNION
SELECT h.head_store_seq, h.head_event_id, h.stream_id, h.max_seq, h.head_prev_hash, h.head_hash, false
FROM stream_heads AS h SEMI JOIN stream_batch AS b ON b.stream_id = h.stream_id
UNION
SELECT e.store_seq, e.event_id, e.stream_id, e.stream_seq, e.prev_hash, e.event_hash, false
FROM events AS e SEMI JOIN late AS k ON e.stream_id = k.stream_id AND e.stream_seq = k.seq
WHERE e.store_seq < $first_store_seq
