-- The retention periods in force at a run's place in the store order ($seq), for $tenant, or every tenant (*).
SELECT tenant, days FROM retention_periods
WHERE days IS NOT NULL AND valid_from_seq < $seq AND (valid_to_seq IS NULL OR valid_to_seq > $seq)
  AND ($tenant = '*' OR tenant = $tenant)
ORDER BY tenant
