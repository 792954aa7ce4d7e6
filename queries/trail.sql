-- Every action of one agent in a time range, newest first.
-- param agent: text required -- agent id
-- param tenant: text -- tenant; omitted means every tenant
-- param since: timestamp -- earliest occurred_at, inclusive (30m, 2h, 7d or an ISO date)
-- param until: timestamp -- latest occurred_at, exclusive (30m, 2h, 7d or an ISO date)
-- param action: text -- action type, e.g. tool.call
-- param limit: int = 1000 -- maximum rows
WITH page AS (
    SELECT occurred_at, tenant, agent_id, agent_version, action_type, action_name, phase, outcome, cost_amount,
           cost_currency, principal_kind, principal_id, resource_kind, resource_id, event_id, store_seq
    FROM events
    WHERE agent_id = $agent::VARCHAR
      AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
      AND ($since::TIMESTAMPTZ IS NULL OR occurred_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR occurred_at < $until::TIMESTAMPTZ)
      AND ($action::VARCHAR IS NULL OR action_type = $action::VARCHAR)
    ORDER BY occurred_at DESC, store_seq DESC
    LIMIT $limit::BIGINT
)
SELECT
    occurred_at,
    tenant,
    agent_id,
    agent_version,
    action_type,
    action_name,
    phase,
    outcome,
    cost_amount,
    cost_currency,
    principal_kind || ':' || unseal(principal_id) AS principal,  -- on the page's rows only
    CASE WHEN resource_id IS NOT NULL THEN resource_kind || ':' || resource_id END AS resource,
    event_id
FROM page
ORDER BY occurred_at DESC, store_seq DESC
