-- Count the batch's first arrivals of missing seqs into their open gaps; close a gap when all arrived.
-- A first arrival is the batch's earliest copy of a seq that no earlier batch stored (streams.py runs
-- this only when a batch stream has an open gap, so the lookup in events is rare).
-- A stream's gaps never overlap (each starts above the running maximum when it opened), so the one
-- an arrival can fall into is the open gap starting nearest below it: an ASOF join, n log n however
-- many gaps a stream holds open, where a range join would pair every arrival with every open gap.
UPDATE stream_gaps AS g
SET arrived = g.arrived + f.arrived,
    closed_at = CASE WHEN g.arrived + f.arrived >= g.last_seq - g.first_seq + 1 THEN f.last_store_seq END
FROM (
    SELECT o.stream_id, o.first_seq, count(*) AS arrived, max(a.store_seq) AS last_store_seq
    FROM (
        SELECT n.stream_id, n.stream_seq, min(n.store_seq) AS store_seq
        FROM stream_batch AS n
        ANTI JOIN (
            SELECT e.stream_id, e.stream_seq
            FROM events AS e SEMI JOIN stream_batch AS b ON b.stream_id = e.stream_id AND b.stream_seq = e.stream_seq
            WHERE e.store_seq < $first_store_seq
        ) AS s ON s.stream_id = n.stream_id AND s.stream_seq = n.stream_seq
        GROUP BY n.stream_id, n.stream_seq
    ) AS a
    ASOF JOIN (SELECT stream_id, first_seq, last_seq, opened_at FROM stream_gaps WHERE closed_at IS NULL) AS o
        ON o.stream_id = a.stream_id AND a.stream_seq >= o.first_seq
    WHERE a.stream_seq <= o.last_seq AND a.store_seq > o.opened_at
    GROUP BY o.stream_id, o.first_seq
) AS f
WHERE g.stream_id = f.stream_id AND g.first_seq = f.first_seq
