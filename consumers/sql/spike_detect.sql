-- Spike detectors over the batch's points (spike_points), each with its parameters (spike_params).
-- Points fall in time buckets of occurred_at. A bucket's bar is fixed when it opens, from the buckets
-- before it as they stood just before its first point, and a hit is the first point whose running value
-- passes the bar, so a rebuild finds the same hits whatever its batch boundaries. Points in a bucket
-- older than the newest one seen minus one are late data: they count, but are never judged.

-- 1. each point's bucket, the series' newest bucket before it and its first bucket up to it
CREATE OR REPLACE TEMP TABLE spike_judged AS
WITH bucketed AS (
    SELECT p.*, epoch_us(p.occurred_at) // k.bucket_us AS bucket
    FROM spike_points AS p JOIN spike_params AS k USING (detector)
)
SELECT
    b.*,
    greatest(s.frontier, max(b.bucket) OVER earlier) AS frontier_before,
    least(s.first_bucket, min(b.bucket) OVER so_far) AS series_first
FROM bucketed AS b
LEFT JOIN anomaly_series AS s USING (detector, series)
WINDOW earlier AS (PARTITION BY b.detector, b.series ORDER BY b.store_seq
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
       so_far AS (PARTITION BY b.detector, b.series ORDER BY b.store_seq ROWS UNBOUNDED PRECEDING);

-- 2. the buckets this batch opens, each with its bar: median + k MADs of the window (idle buckets are
--    zeros), at least ratio x its quantile and floor; cold_start while the series has less history than
--    min_history
CREATE OR REPLACE TEMP TABLE spike_opened AS
WITH opened AS (
    SELECT detector, series, bucket, min(store_seq) AS first_seq,
           arg_min(series_first, store_seq) AS series_first,
           arg_min(frontier_before IS NULL OR bucket >= frontier_before - 1, store_seq) AS judged
    FROM spike_judged AS j
    WHERE NOT EXISTS (SELECT 1 FROM anomaly_buckets AS x
                      WHERE x.detector = j.detector AND x.series = j.series AND x.bucket = j.bucket)
    GROUP BY ALL
),
past AS (
    SELECT o.detector, o.series, o.bucket, h.bucket AS past_bucket, sum(h.value)::DOUBLE AS value
    FROM opened AS o
    JOIN spike_params AS k USING (detector)
    JOIN (SELECT detector, series, bucket, value, -1 AS store_seq FROM anomaly_buckets
          UNION ALL
          SELECT detector, series, bucket, value, store_seq FROM spike_judged) AS h
      ON h.detector = o.detector AND h.series = o.series AND h.store_seq < o.first_seq
     AND h.bucket BETWEEN o.bucket - k.window AND o.bucket - 1
    WHERE o.judged
    GROUP BY ALL
),
collected AS (
    SELECT o.detector, o.series, o.bucket, o.first_seq, o.judged,
           least(k.window, greatest(0, o.bucket - o.series_first)) AS slots,
           coalesce(list(p.value) FILTER (WHERE p.value IS NOT NULL), []::DOUBLE[]) AS busy
    FROM opened AS o
    JOIN spike_params AS k USING (detector)
    LEFT JOIN past AS p USING (detector, series, bucket)
    GROUP BY o.detector, o.series, o.bucket, o.first_seq, o.judged, k.window, o.series_first
),
stats AS (
    SELECT * EXCLUDE (busy), list_resize(busy, slots, 0.0) AS history FROM collected
)
SELECT
    s.detector, s.series, s.bucket, s.first_seq,
    CASE WHEN NOT s.judged THEN NULL
         WHEN s.slots < k.min_history THEN k.cold_start
         ELSE greatest(list_aggregate(s.history, 'median') + k.k * 1.4826 * list_aggregate(s.history, 'mad'),
                       k.ratio * list_sort(s.history)[greatest(1, ceil(k.quantile * s.slots))::BIGINT], k.floor)
    END AS bar,
    CASE WHEN s.judged AND s.slots >= k.min_history THEN list_aggregate(s.history, 'median') END AS median
FROM stats AS s
JOIN spike_params AS k USING (detector);

-- 3. hits: per bucket not yet flagged, the first judged point whose running value passes the bar
CREATE OR REPLACE TEMP TABLE spike_hits AS
WITH state AS (
    SELECT t.detector, t.series, t.bucket,
           coalesce(x.value, 0) AS prior, coalesce(x.first_seq, o.first_seq) AS bucket_first_seq,
           coalesce(x.bar, o.bar) AS bar, coalesce(x.median, o.median) AS median
    FROM (SELECT DISTINCT detector, series, bucket FROM spike_judged) AS t
    LEFT JOIN anomaly_buckets AS x USING (detector, series, bucket)
    LEFT JOIN spike_opened AS o USING (detector, series, bucket)
    WHERE NOT coalesce(x.flagged, false)
),
running AS (
    SELECT j.*, s.bar, s.median, s.bucket_first_seq,
           s.prior + sum(j.value) OVER (PARTITION BY j.detector, j.series, j.bucket ORDER BY j.store_seq
                                        ROWS UNBOUNDED PRECEDING) AS running
    FROM spike_judged AS j
    JOIN state AS s USING (detector, series, bucket)
    WHERE s.bar IS NOT NULL
)
SELECT r.*, k.bucket_s, k.gap_us, k.severity
FROM running AS r
JOIN spike_params AS k USING (detector)
WHERE r.running > r.bar AND (r.frontier_before IS NULL OR r.bucket >= r.frontier_before - 1)
QUALIFY row_number() OVER (PARTITION BY r.detector, r.series, r.bucket ORDER BY r.store_seq) = 1;

-- 4. the buckets and series as they stand after the batch; buckets older than any window can read go
INSERT INTO anomaly_buckets
SELECT j.detector, j.series, j.bucket, sum(j.value), count(*), min(j.store_seq), any_value(o.bar),
       any_value(o.median), bool_or(h.event_id IS NOT NULL)
FROM spike_judged AS j
LEFT JOIN spike_opened AS o USING (detector, series, bucket)
LEFT JOIN (SELECT detector, series, bucket, event_id FROM spike_hits) AS h USING (detector, series, bucket)
GROUP BY j.detector, j.series, j.bucket
ON CONFLICT (detector, series, bucket) DO UPDATE SET
    value = value + excluded.value, events = events + excluded.events, flagged = flagged OR excluded.flagged;

INSERT INTO anomaly_series
SELECT detector, series, min(bucket), max(bucket) FROM spike_judged GROUP BY ALL
ON CONFLICT (detector, series) DO UPDATE SET
    first_bucket = least(first_bucket, excluded.first_bucket), frontier = greatest(frontier, excluded.frontier);

DELETE FROM anomaly_buckets AS b
USING anomaly_series AS s, spike_params AS k
WHERE s.detector = b.detector AND s.series = b.series AND k.detector = b.detector
  AND b.bucket < s.frontier - k.window - 1;
