-- Spike detectors, second part, run until it returns 0: the bars of the opened buckets (spike_opened). A bar is
-- the highest of median + k MADs of the window (idle buckets are zeros), ratio x its quantile and floor;
-- cold_start while the series has fewer than min_history buckets of history. Buckets that had passed their own
-- bar by the opened bucket's first event are left out, so an anomaly never becomes its own baseline. Everything
-- is as of that first event, in store order, so a replay in other batches fixes the same bars.
--
-- A bar depends on whether the buckets before it passed theirs, so buckets opened in one batch depend on each
-- other, oldest first. Each run computes every pending bar at once assuming no pending bucket passed; where
-- one did pass (by a later bucket's first event), that later bucket and the rest of its series stay pending
-- for the next run, which sees the passed bucket's bar. Anomalies are rare, so a batch that spans an hour of
-- minutes (a replay, a catch-up after an outage) needs a run or two instead of one per minute. The oldest
-- pending bucket of a series never waits, so every run makes progress.

CREATE OR REPLACE TEMP TABLE spike_ready AS
SELECT * FROM spike_opened WHERE judged AND bar IS NULL;

-- 1. each pending bucket's window as of its first event: the buckets before it, their value then, and whether
--    they had passed their bar (a pending bucket has none yet, so it counts as not passed: the assumption)
CREATE OR REPLACE TEMP TABLE spike_past AS
WITH past AS (
    SELECT r.detector, r.series, r.bucket, h.bucket AS past_bucket, sum(h.value)::DOUBLE AS value
    FROM spike_ready AS r
    JOIN spike_params AS k USING (detector)
    JOIN (SELECT detector, series, bucket, value, -1 AS store_seq FROM anomaly_buckets
          UNION ALL
          SELECT detector, series, bucket, value, store_seq FROM spike_judged) AS h
      ON h.detector = r.detector AND h.series = r.series AND h.store_seq < r.first_seq
     AND h.bucket BETWEEN r.bucket - k.lag - k.window AND r.bucket - k.lag - 1
    GROUP BY ALL
)
SELECT p.*, coalesce(p.value > coalesce(x.bar, o.bar), false) AS passed
FROM past AS p
LEFT JOIN anomaly_buckets AS x
  ON x.detector = p.detector AND x.series = p.series AND x.bucket = p.past_bucket
LEFT JOIN spike_opened AS o
  ON o.detector = p.detector AND o.series = p.series AND o.bucket = p.past_bucket;

-- 2. every pending bar, under that assumption
CREATE OR REPLACE TEMP TABLE spike_ready_bars AS
WITH collected AS (
    SELECT r.detector, r.series, r.bucket,
           least(k.window, greatest(0, r.bucket - k.lag - r.origin_first))
               - count(p.past_bucket) FILTER (WHERE p.passed) AS slots,
           coalesce(list(p.value) FILTER (WHERE p.value IS NOT NULL AND NOT p.passed), []::DOUBLE[]) AS busy
    FROM spike_ready AS r
    JOIN spike_params AS k USING (detector)
    LEFT JOIN spike_past AS p USING (detector, series, bucket)
    GROUP BY r.detector, r.series, r.bucket, k.window, k.lag, r.origin_first
),
stats AS (
    SELECT * EXCLUDE (busy), list_resize(busy, slots, 0.0) AS history FROM collected
)
SELECT
    s.detector, s.series, s.bucket,
    CASE WHEN s.slots < k.min_history THEN k.cold_start
         ELSE greatest(list_aggregate(s.history, 'median') + k.k * 1.4826 * list_aggregate(s.history, 'mad'),
                       k.ratio * list_sort(s.history)[greatest(1, ceil(k.quantile * s.slots))::BIGINT], k.floor)
    END AS bar,
    CASE WHEN s.slots >= k.min_history THEN list_aggregate(s.history, 'median') END AS median
FROM stats AS s
JOIN spike_params AS k USING (detector);

-- 3. where the assumption failed: a pending bucket that had passed the bar just computed for it, as a later
--    bucket's window saw it. From that later bucket on, the series' bars wait for the next run.
CREATE OR REPLACE TEMP TABLE spike_unsure AS
SELECT p.detector, p.series, min(p.bucket) AS from_bucket
FROM spike_past AS p
JOIN spike_ready_bars AS b
  ON b.detector = p.detector AND b.series = p.series AND b.bucket = p.past_bucket
WHERE p.value > b.bar
GROUP BY ALL;

UPDATE spike_opened AS o
SET bar = b.bar, median = b.median
FROM spike_ready_bars AS b
LEFT JOIN spike_unsure AS u USING (detector, series)
WHERE o.detector = b.detector AND o.series = b.series AND o.bucket = b.bucket
  AND (u.from_bucket IS NULL OR b.bucket < u.from_bucket);

SELECT count(*) FROM spike_opened WHERE judged AND bar IS NULL;
