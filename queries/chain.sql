-- The whole operation chain around one event: up parent_event_id to the root, then every descendant.
-- depth 0 is the root; rows are in tree order. The walk stays inside the event's tenant and
-- stops at a cycle, so forged parent links cannot pull in other tenants' events or loop.
-- param event_id: text required -- id of any event in the chain
WITH RECURSIVE
up(event_id, parent_event_id, tenant, hops, seen) AS (
    SELECT event_id, parent_event_id, tenant, 0, [event_id]
    FROM events
    WHERE event_id = $event_id::VARCHAR
    UNION ALL
    SELECT e.event_id, e.parent_event_id, e.tenant, up.hops + 1, list_append(up.seen, e.event_id)
    FROM events AS e
    JOIN up ON e.event_id = up.parent_event_id AND e.tenant = up.tenant
    WHERE NOT list_contains(up.seen, e.event_id)
),
root AS (
    SELECT event_id, tenant FROM up ORDER BY hops DESC LIMIT 1
),
down(event_id, tenant, depth, path) AS (
    SELECT event_id, tenant, 0, [event_id] FROM root
    UNION ALL
    SELECT e.event_id, e.tenant, down.depth + 1, list_append(down.path, e.event_id)
    FROM events AS e
    JOIN down ON e.parent_event_id = down.event_id AND e.tenant = down.tenant
    WHERE NOT list_contains(down.path, e.event_id)
)
SELECT
    down.depth,
    e.event_id,
    e.parent_event_id,
    e.occurred_at,
    e.action_type,
    e.action_name,
    e.agent_id,
    e.outcome,
    e.duration_us,
    e.cost_amount,
    e.cost_currency
FROM down
JOIN events AS e USING (event_id)
ORDER BY down.path
