-- Every action one agent version took, newest first, with where it ran and which chain it was in:
-- what to review when a version is found faulty.
-- param version: text required -- agent version, e.g. 2.3.0
-- param agent: text -- agent id; omitted means every agent reporting that version
-- param tenant: text -- tenant; omitted means every tenant
-- param limit: int = 1000 -- maximum rows
SELECT
    e.agent_id,
    e.agent_version,
    e.agent_region AS ran_in,
    e.occurred_at,
    e.tenant,
    e.action_type || ' ' || e.action_name AS action,
    e.outcome,
    CASE WHEN e.resource_id IS NOT NULL THEN e.resource_kind || ':' || e.resource_id END AS resource,
    e.resource_region,
    e.data_region,
    e.cost_amount,
    e.cost_currency,
    e.event_id,
    n.root_id AS chain_root_id
FROM events AS e
LEFT JOIN chain_nodes AS n ON n.event_id = e.event_id
WHERE e.agent_version = $version::VARCHAR
  AND ($agent::VARCHAR IS NULL OR e.agent_id = $agent::VARCHAR)
  AND ($tenant::VARCHAR IS NULL OR e.tenant = $tenant::VARCHAR)
ORDER BY e.occurred_at DESC, e.store_seq DESC
LIMIT $limit::BIGINT
