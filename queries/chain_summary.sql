-- The rollup of the chain holding one event: events, duration, cost per currency, tokens, failures,
-- regions touched and agent versions involved (materialized as events arrive, one row).
-- param event_id: text required -- id of any event in the chain
SELECT r.*
FROM chain_rollups AS r
WHERE r.root_id = (SELECT root_id FROM chain_nodes WHERE event_id = $event_id::VARCHAR)
