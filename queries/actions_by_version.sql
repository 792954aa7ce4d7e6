-- Every action one agent version took, newest first: what to review when a version is found faulty.
-- param version: text required -- agent version, e.g. 2.3.0
-- param agent: text -- agent id; omitted means every agent reporting that version
-- param tenant: text -- tenant; omitted means every tenant
-- param limit: int = 1000 -- maximum rows
SELECT
    occurred_at,
    tenant,
    agent_id,
    agent_version,
    agent_region,
    action_type,
    action_name,
    phase,
    outcome,
    cost_amount,
    cost_currency,
    principal_kind || ':' || principal_id AS principal,
    event_id
FROM events
WHERE agent_version = $version::VARCHAR
  AND ($agent::VARCHAR IS NULL OR agent_id = $agent::VARCHAR)
  AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
ORDER BY occurred_at DESC, store_seq DESC
LIMIT $limit::BIGINT
