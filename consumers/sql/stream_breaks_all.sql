-- Every recorded break of a stream's hash chain, in the order they were detected.
SELECT stream_id, stream_seq, event_id, kind, claimed_prev_hash, found_hash, other_event_id
FROM stream_breaks
ORDER BY detected_at, stream_id, stream_seq
