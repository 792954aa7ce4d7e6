-- Whether any of the batch's streams has an open gap (none: the batch has nothing to fill).
SELECT EXISTS (
    SELECT 1 FROM stream_gaps AS g SEMI JOIN stream_batch AS b ON b.stream_id = g.stream_id WHERE g.closed_at IS NULL
)
