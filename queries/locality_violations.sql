-- Actions whose resource or data region lies outside their tenant's allowed regions.
-- Each event is judged by the rule in force at its place in the store order (agenttrail regions set);
-- events stored before a tenant had a rule, or while it had none, are not violations.
-- param tenant: text -- tenant; omitted means every tenant
-- param since: timestamp -- earliest occurred_at, inclusive (30m, 2h, 7d or an ISO date)
-- param limit: int = 1000 -- maximum rows
SELECT
    e.occurred_at,
    e.tenant,
    e.agent_id,
    e.action_type,
    e.action_name,
    region_outside(r.regions, e.resource_region, e.data_region).side AS outside,
    region_outside(r.regions, e.resource_region, e.data_region).region AS region,
    array_to_string(r.regions, ',') AS allowed,
    r.control_event_id AS rule_event_id,
    e.event_id
FROM events AS e
JOIN tenant_regions AS r
  ON r.tenant = e.tenant
 AND e.store_seq > r.valid_from_seq
 AND (r.valid_to_seq IS NULL OR e.store_seq < r.valid_to_seq)
WHERE r.regions IS NOT NULL
  AND region_outside(r.regions, e.resource_region, e.data_region) IS NOT NULL
  AND ($tenant::VARCHAR IS NULL OR e.tenant = $tenant::VARCHAR)
  AND ($since::TIMESTAMPTZ IS NULL OR e.occurred_at >= $since::TIMESTAMPTZ)
ORDER BY e.occurred_at DESC, e.store_seq DESC
LIMIT $limit::BIGINT
