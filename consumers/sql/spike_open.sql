-- Spike detectors, first part: the batch's points (spike_points) in their buckets, and the buckets the batch
-- opens, whose bars spike_bars.sql then fixes. Each detector's parameters are in spike_params.
-- Points fall in time buckets of occurred_at. A bucket's bar is fixed when it opens, from the buckets
-- before it as they stood just before its first point, and a hit is the first point whose running value
-- passes the bar, so a rebuild finds the same hits whatever its batch boundaries. Points in a bucket
-- older than the newest one seen minus one are late data: they count, but are never judged.

-- 1. each point's bucket, the series' newest bucket before it, and its origin's first bucket up to it (where
--    the series' history starts: a series with no points yet in some of those buckets counts them as zeros)
CREATE OR REPLACE TEMP TABLE spike_judged AS
WITH bucketed AS (
    SELECT p.* REPLACE (coalesce(p.origin, p.series) AS origin), epoch_us(p.occurred_at) // k.bucket_us AS bucket
    FROM spike_points AS p JOIN spike_params AS k USING (detector)
)
SELECT
    b.*,
    greatest(s.frontier, max(b.bucket) OVER earlier) AS frontier_before,
    least(o.first_bucket, min(b.bucket) OVER so_far) AS origin_first
FROM bucketed AS b
LEFT JOIN anomaly_series AS s USING (detector, series)
LEFT JOIN anomaly_origins AS o USING (detector, origin)
WINDOW earlier AS (PARTITION BY b.detector, b.series ORDER BY b.store_seq
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
       so_far AS (PARTITION BY b.detector, b.origin ORDER BY b.store_seq ROWS UNBOUNDED PRECEDING);

-- 2. the buckets this batch opens, judged unless late; their bars are fixed by spike_bars.sql
CREATE OR REPLACE TEMP TABLE spike_opened AS
SELECT detector, series, bucket, min(store_seq) AS first_seq,
       arg_min(origin_first, store_seq) AS origin_first,
       arg_min(frontier_before IS NULL OR bucket >= frontier_before - 1, store_seq) AS judged,
       NULL::DOUBLE AS bar, NULL::DOUBLE AS median
FROM spike_judged AS j
WHERE NOT EXISTS (SELECT 1 FROM anomaly_buckets AS x
                  WHERE x.detector = j.detector AND x.series = j.series AND x.bucket = j.bucket)
GROUP BY ALL;

-- 3. how many of them still need a bar: none (the common case for a small batch) skips spike_bars.sql
SELECT count(*) FROM spike_opened WHERE judged;
