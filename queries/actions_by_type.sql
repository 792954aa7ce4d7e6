-- Per action type: how many events, how many succeeded, failed or were denied, and by how many agents.
-- param tenant: text -- tenant; omitted means every tenant
SELECT
    action_type,
    count(*) AS events,
    count(*) FILTER (WHERE outcome = 'success') AS succeeded,
    count(*) FILTER (WHERE outcome = 'failure') AS failed,
    count(*) FILTER (WHERE outcome = 'denied') AS denied,
    count(DISTINCT agent_id) AS agents
FROM events
WHERE ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
GROUP BY action_type
ORDER BY events DESC, action_type
