-- After a cycle is broken, its whole component is folded into rollups afresh: the batch's events
-- take their new positions, and the component's older events join them (read from events; the
-- old rollups of the component's former roots are gone, see chains_cycle_forget.sql).
UPDATE chain_fresh AS f SET root_id = c.path[1], depth = len(c.path) - 1, path = c.path
FROM chain_cycle AS c WHERE f.event_id = c.event_id;
INSERT INTO chain_fresh
SELECT
    e.event_id, e.tenant, e.parent_event_id, c.path[1], len(c.path) - 1, c.path,
    e.phase, e.outcome, e.occurred_at, e.duration_us, e.cost_amount, e.cost_currency,
    e.input_tokens, e.output_tokens, e.agent_id, e.agent_version,
    e.agent_region, e.resource_region, e.data_region, e.attributes['started_event_id']
FROM chain_cycle AS c JOIN events AS e ON e.event_id = c.event_id
WHERE c.event_id NOT IN (SELECT event_id FROM chain_fresh)
