-- Novelty detectors over the batch's points (novelty_points: what each key, an agent or a token, is seen
-- doing), each with its parameters (novelty_params). A hit is the first time ever a key does something,
-- once the key has left its learning period (learn_events events and learn_us since its first one).
-- Repeats of that new thing within gap_us of its first time are hits too: they extend its flag, so the
-- flag holds a spree's purchases as evidence and stays open over a second spree minutes later, instead of
-- naming only the first purchase. Everything is counted in store order, so a rebuild finds the same hits.

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
CREATE OR REPLACE TEMP TABLE novelty_raised AS
SELECT n.*, k.gap_us
FROM novelty_new AS n
JOIN novelty_params AS k USING (detector)
WHERE n.events_before >= k.learn_events
  AND epoch_us(n.occurred_at) - epoch_us(n.key_first_seen) >= k.learn_us;

INSERT INTO anomaly_hits
SELECT detector, tenant, key, scope, agent_id, store_seq, event_id, occurred_at, received_at,
       1.0, severity, summary, [event_id], gap_us
FROM novelty_raised;

-- 3. later points of a new thing that raised a hit, within gap_us of its first time (this batch's or earlier)
INSERT INTO anomaly_hits
SELECT p.detector, p.tenant, p.key, p.scope, p.agent_id, p.store_seq, p.event_id, p.occurred_at, p.received_at,
       1.0, p.severity, p.summary, [p.event_id], k.gap_us
FROM novelty_points AS p
JOIN novelty_params AS k USING (detector)
JOIN (SELECT detector, key, what, first_seq, first_at FROM anomaly_seen WHERE raised
      UNION ALL
      SELECT detector, key, what, store_seq, occurred_at FROM novelty_raised) AS r USING (detector, key, what)
WHERE p.store_seq > r.first_seq
  AND epoch_us(p.occurred_at) - epoch_us(r.first_at) BETWEEN 0 AND k.gap_us;

-- 4. what each key has now been seen doing, and how much
INSERT INTO anomaly_seen BY NAME
SELECT n.detector, n.key, n.what, n.store_seq AS first_seq, n.occurred_at AS first_at,
       n.store_seq IN (SELECT store_seq FROM novelty_raised AS r WHERE r.detector = n.detector) AS raised
FROM novelty_new AS n;

INSERT INTO anomaly_keys
SELECT detector, key, arg_min(occurred_at, store_seq), count(DISTINCT store_seq)
FROM novelty_points
GROUP BY ALL
ON CONFLICT (detector, key) DO UPDATE SET events = events + excluded.events;
