-- Novelty detectors over the batch's points (novelty_points: what each key, an agent or a token, is seen
-- doing), each with its parameters (novelty_params). A hit is the first time ever a key does something,
-- once the key has left its learning period (learn_events events and learn_us since its first one).
-- Everything is counted in store order, so a rebuild finds the same hits.

-- 1. the first point of each (key, what) in the batch that the key had never done before
CREATE OR REPLACE TEMP TABLE novelty_new AS
WITH judged AS (
    SELECT p.*,
           coalesce(k.events, 0) + dense_rank() OVER by_key - 1 AS events_before,
           coalesce(k.first_seen, first_value(p.occurred_at) OVER by_key) AS key_first_seen,
           row_number() OVER (PARTITION BY p.detector, p.key, p.what ORDER BY p.store_seq) AS nth
    FROM novelty_points AS p
    LEFT JOIN anomaly_keys AS k USING (detector, key)
    WINDOW by_key AS (PARTITION BY p.detector, p.key ORDER BY p.store_seq)
)
SELECT j.* EXCLUDE (nth)
FROM judged AS j
WHERE j.nth = 1
  AND NOT EXISTS (SELECT 1 FROM anomaly_seen AS s WHERE s.detector = j.detector AND s.key = j.key AND s.what = j.what);

-- 2. those past their key's learning period are hits
INSERT INTO anomaly_hits
SELECT n.detector, n.tenant, n.key, n.scope, n.agent_id, n.store_seq, n.event_id, n.occurred_at, n.received_at,
       1.0, n.severity, n.summary, [n.event_id], k.gap_us
FROM novelty_new AS n
JOIN novelty_params AS k USING (detector)
WHERE n.events_before >= k.learn_events
  AND epoch_us(n.occurred_at) - epoch_us(n.key_first_seen) >= k.learn_us;

-- 3. what each key has now been seen doing, and how much
INSERT INTO anomaly_seen SELECT detector, key, what, store_seq FROM novelty_new;

INSERT INTO anomaly_keys
SELECT detector, key, arg_min(occurred_at, store_seq), count(DISTINCT store_seq)
FROM novelty_points
GROUP BY ALL
ON CONFLICT (detector, key) DO UPDATE SET events = events + excluded.events;
