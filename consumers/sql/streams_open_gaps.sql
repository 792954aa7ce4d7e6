-- Open a gap wherever an event's seq jumps past its stream's running maximum (in store order, batch included).
INSERT INTO stream_gaps
WITH ordered AS (
    SELECT stream_id, stream_seq, store_seq, event_id,
           max(stream_seq) OVER (PARTITION BY stream_id ORDER BY store_seq
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS batch_max
    FROM stream_batch
),
placed AS (
    SELECT o.*, greatest(coalesce(o.batch_max, -1), coalesce(h.max_seq, -1)) AS before_max
    FROM ordered AS o LEFT JOIN stream_heads AS h USING (stream_id)
)
SELECT stream_id, before_max + 1, stream_seq - 1, store_seq, event_id, 0, NULL
FROM placed
WHERE stream_seq > before_max + 1
