-- Per tenant: how many events, from how many agents, and when the first and last occurred.
SELECT
    tenant,
    count(*) AS events,
    count(DISTINCT agent_id) AS agents,
    min(occurred_at) AS first_occurred_at,
    max(occurred_at) AS last_occurred_at
FROM events
GROUP BY tenant
ORDER BY events DESC, tenant
