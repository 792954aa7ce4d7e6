-- What governance has seen: alerts raised, locality violations, anomaly flags, stream gaps still open and breaks, signed checkpoints.
-- param after_seq: int = 0 -- count alerts and violations stored after this store_seq only
SELECT 'budget alerts' AS what, count(*)::BIGINT AS count FROM alerts WHERE store_seq > $after_seq
UNION ALL
SELECT 'locality violations', count(*)::BIGINT
FROM events AS e
JOIN tenant_regions AS r
  ON r.tenant = e.tenant AND e.store_seq > r.valid_from_seq
 AND (r.valid_to_seq IS NULL OR e.store_seq < r.valid_to_seq)
WHERE e.store_seq > $after_seq AND r.regions IS NOT NULL
  AND region_outside(r.regions, e.resource_region, e.data_region) IS NOT NULL
UNION ALL
SELECT 'anomaly flags', count(*)::BIGINT FROM anomaly_flags WHERE raised_seq > $after_seq
UNION ALL
SELECT 'stream gaps still open', count(*)::BIGINT FROM stream_gaps WHERE closed_at IS NULL
UNION ALL
SELECT 'stream breaks', count(*)::BIGINT FROM stream_breaks
UNION ALL
SELECT 'signed checkpoints', count(*)::BIGINT FROM checkpoints
