-- New-behaviour points: what an agent does (its action types, and the resources of kinds whose ids are
-- stable: $resource_kinds). A new sensitive action ($sensitive_actions) is critical.
INSERT INTO novelty_points
SELECT $detector, tenant || '/' || agent_id, 'action ' || action_type, tenant, agent_id, 'agent:' || agent_id,
       CASE WHEN list_contains($sensitive_actions, action_type) THEN 'critical' ELSE 'warning' END,
       printf('Agent %s did %s for the first time.', agent_id, action_type),
       store_seq, event_id, occurred_at, received_at
FROM batch_events
WHERE phase = 'completed'
UNION ALL
SELECT $detector, tenant || '/' || agent_id, 'resource ' || resource_kind || ' ' || resource_id, tenant, agent_id,
       'agent:' || agent_id, 'warning',
       printf('Agent %s used %s %s for the first time (%s).', agent_id, resource_kind, resource_id, action_type),
       store_seq, event_id, occurred_at, received_at
FROM batch_events
WHERE phase = 'completed' AND list_contains($resource_kinds, resource_kind);
