-- Spike detectors, last part: the hits (the first point per bucket whose running value passes its bar), then
-- the buckets and series as they stand after the batch. Reads spike_open.sql's and spike_bars.sql's tables.

-- 1. hits: per bucket not yet flagged, the first judged point whose running value passes the bar
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

-- 2. the buckets and series as they stand after the batch; buckets older than any window can read go
INSERT INTO anomaly_buckets
SELECT j.detector, j.series, j.bucket, sum(j.value), min(j.store_seq), any_value(o.bar),
       any_value(o.median), bool_or(h.event_id IS NOT NULL)
FROM spike_judged AS j
LEFT JOIN spike_opened AS o USING (detector, series, bucket)
LEFT JOIN (SELECT detector, series, bucket, event_id FROM spike_hits) AS h USING (detector, series, bucket)
GROUP BY j.detector, j.series, j.bucket
ON CONFLICT (detector, series, bucket) DO UPDATE SET
    value = value + excluded.value, flagged = flagged OR excluded.flagged;

INSERT INTO anomaly_series
SELECT detector, series, max(bucket) FROM spike_judged GROUP BY ALL
ON CONFLICT (detector, series) DO UPDATE SET frontier = greatest(frontier, excluded.frontier);

INSERT INTO anomaly_origins
SELECT detector, origin, min(bucket) FROM spike_judged GROUP BY ALL
ON CONFLICT (detector, origin) DO UPDATE SET first_bucket = least(first_bucket, excluded.first_bucket);

DELETE FROM anomaly_buckets AS b
USING anomaly_series AS s, spike_params AS k
WHERE s.detector = b.detector AND s.series = b.series AND k.detector = b.detector
  AND b.bucket < s.frontier - k.lag - k.window - 1;
