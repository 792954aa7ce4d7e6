-- Advance each stream's head to the batch's highest seq (its first stored copy) when that is above the stored
-- maximum, and count the batch's events.
INSERT INTO stream_heads
SELECT stream_id, max(stream_seq), arg_min(event_id, (-stream_seq, store_seq)),
       arg_min(event_hash, (-stream_seq, store_seq)), arg_min(prev_hash, (-stream_seq, store_seq)),
       arg_min(store_seq, (-stream_seq, store_seq)), count(*)
FROM stream_batch
GROUP BY stream_id
ON CONFLICT (stream_id) DO UPDATE SET
    head_event_id = CASE WHEN excluded.max_seq > stream_heads.max_seq THEN excluded.head_event_id
                         ELSE stream_heads.head_event_id END,
    head_hash = CASE WHEN excluded.max_seq > stream_heads.max_seq THEN excluded.head_hash
                     ELSE stream_heads.head_hash END,
    head_prev_hash = CASE WHEN excluded.max_seq > stream_heads.max_seq THEN excluded.head_prev_hash
                          ELSE stream_heads.head_prev_hash END,
    head_store_seq = CASE WHEN excluded.max_seq > stream_heads.max_seq THEN excluded.head_store_seq
                          ELSE stream_heads.head_store_seq END,
    max_seq = greatest(stream_heads.max_seq, excluded.max_seq),
    events = stream_heads.events + excluded.events
