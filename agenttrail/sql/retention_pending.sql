-- Whether a tenant has sealed events received more than its retention period (in force now) before $now.
SELECT count(*) > 0
FROM retention_periods AS p
WHERE p.valid_to_seq IS NULL AND p.days IS NOT NULL
  AND EXISTS (SELECT 1 FROM events AS e
              WHERE e.tenant = p.tenant
                AND e.received_at < $now::TIMESTAMPTZ - to_microseconds(CAST(p.days * 86400000000 AS BIGINT))
                AND e.store_seq <= (SELECT coalesce(max(last_store_seq), 0) FROM checkpoints))
