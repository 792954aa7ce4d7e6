-- Provenance per agent version: where it ran, when it first and last appeared, how much it did.
-- regions are the agent regions it reported; first_seen is its earliest occurred_at in the trail.
-- param tenant: text -- tenant; omitted means every tenant
-- param agent: text -- agent id; omitted means every agent
-- param version: text -- one version; omitted means every version
SELECT
    tenant,
    agent_id,
    agent_version,
    list_sort(list_distinct(list(agent_region))) AS regions,
    min(occurred_at) AS first_seen,
    max(occurred_at) AS last_seen,
    count(*) AS events,
    count(*) FILTER (WHERE outcome = 'failure') AS failures,
    list_sort(list_distinct(list(agent_model))) AS models
FROM events
WHERE ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
  AND ($agent::VARCHAR IS NULL OR agent_id = $agent::VARCHAR)
  AND ($version::VARCHAR IS NULL OR agent_version = $version::VARCHAR)
GROUP BY tenant, agent_id, agent_version
ORDER BY tenant, agent_id, first_seen, agent_version
