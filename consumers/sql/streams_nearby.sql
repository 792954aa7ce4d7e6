-- Stored events at seq-1, seq and seq+1 of each event in the batch: the neighbours its links are checked against.
CREATE OR REPLACE TEMP TABLE stream_nearby AS
SELECT e.store_seq, e.event_id, e.stream_id, e.stream_seq, e.prev_hash, e.event_hash,
       e.store_seq >= $first_store_seq AS in_batch
FROM events AS e
SEMI JOIN (
    SELECT DISTINCT b.stream_id, b.stream_seq + d.step AS seq
    FROM stream_batch AS b, (VALUES (-1), (0), (1)) AS d(step)
) AS k ON e.stream_id = k.stream_id AND e.stream_seq = k.seq
