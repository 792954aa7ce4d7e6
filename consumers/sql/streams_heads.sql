-- Advance each stream's running maximum and event count by the batch.
INSERT INTO stream_heads
SELECT stream_id, max(stream_seq), count(*), max(store_seq) FROM stream_batch GROUP BY stream_id
ON CONFLICT (stream_id) DO UPDATE SET
    max_seq = greatest(stream_heads.max_seq, excluded.max_seq),
    events = stream_heads.events + excluded.events,
    last_store_seq = excluded.last_store_seq
