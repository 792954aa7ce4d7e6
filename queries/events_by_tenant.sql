-- Per tenant: how many events, from how many agents, and when the first and last occurred.
-- param after_seq: int -- only events stored after this store sequence (e.g. one demo run)
-- param tenant: text -- only this tenant
SELECT
    tenant,
    count(*) AS events,
    count(DISTINCT agent_id) AS agents,
    min(occurred_at) AS first_occurred_at,
    max(occurred_at) AS last_occurred_at
FROM events
WHERE ($after_seq IS NULL OR store_seq > $after_seq) AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
GROUP BY tenant
ORDER BY events DESC, tenant
