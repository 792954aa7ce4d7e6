-- The rollup of the chain holding one event: events, duration, cost per currency, tokens, failures,
-- regions touched and agent versions involved (materialized as events arrive, one row).
-- param event_id: text required -- id of any event in the chain
-- param tenant: text -- only when the event belongs to this tenant (chains never cross tenants)
SELECT r.*
FROM chain_rollups AS r
WHERE r.root_id = (SELECT root_id FROM chain_nodes WHERE event_id = $event_id::VARCHAR
                                                    AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR))
