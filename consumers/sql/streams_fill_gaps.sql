-- Count the batch's first arrivals of missing seqs into their open gaps; close a gap when all arrived.
UPDATE stream_gaps AS g
SET arrived = g.arrived + f.arrived,
    closed_at = CASE WHEN g.arrived + f.arrived >= g.last_seq - g.first_seq + 1 THEN f.last_store_seq END
FROM (
    SELECT g.stream_id, g.first_seq, count(*) AS arrived, max(a.store_seq) AS last_store_seq
    FROM stream_gaps AS g
    JOIN (
        SELECT n.stream_id, n.stream_seq, min(n.store_seq) AS store_seq
        FROM stream_nearby AS n
        WHERE n.in_batch AND NOT EXISTS (
            SELECT 1 FROM stream_nearby AS o
            WHERE o.stream_id = n.stream_id AND o.stream_seq = n.stream_seq AND NOT o.in_batch
        )
        GROUP BY n.stream_id, n.stream_seq
    ) AS a ON a.stream_id = g.stream_id AND a.stream_seq BETWEEN g.first_seq AND g.last_seq
          AND a.store_seq > g.opened_at
    WHERE g.closed_at IS NULL
    GROUP BY g.stream_id, g.first_seq
) AS f
WHERE g.stream_id = f.stream_id AND g.first_seq = f.first_seq
