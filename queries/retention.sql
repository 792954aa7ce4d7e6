-- Each tenant's retention period in force (days), who set it and why, and what retention runs removed so far.
-- param tenant: text -- tenant; omitted means every tenant
SELECT
    p.tenant,
    p.days,
    p.valid_from AS since,
    p.set_by,
    p.reason,
    coalesce(r.removed, 0)::BIGINT AS removed,
    r.last_run_at,
    p.control_event_id
FROM retention_periods AS p
LEFT JOIN (SELECT tenant, sum(removed) AS removed, max(ran_at) AS last_run_at FROM retention_runs GROUP BY tenant)
    AS r USING (tenant)
WHERE p.valid_to_seq IS NULL AND p.days IS NOT NULL
  AND ($tenant::VARCHAR IS NULL OR p.tenant = $tenant::VARCHAR)
ORDER BY p.tenant
