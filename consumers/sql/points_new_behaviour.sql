-- New-behaviour points: what an agent's delegation tree does (its action types, and the resources of kinds
-- whose ids are stable: $resource_kinds), keyed by the agent at its root, so a sub-agent is judged by what
-- its tree has done rather than by its own few actions. A new sensitive action ($sensitive_actions) is
-- critical.
INSERT INTO novelty_points
WITH acts AS (
    SELECT *, coalesce(actor_chain[-1].id, agent_id) AS root_agent,  -- an event may name no actor chain
           CASE WHEN coalesce(actor_chain[-1].id, agent_id) = agent_id THEN ''
                ELSE printf(' (delegated by %s)', actor_chain[-1].id) END AS delegated
    FROM batch_events
    WHERE phase = 'completed'
)
SELECT $detector, tenant || '/' || root_agent, 'action ' || action_type, tenant, agent_id, 'agent:' || agent_id,
       CASE WHEN list_contains($sensitive_actions, action_type) THEN 'critical' ELSE 'warning' END,
       printf('Agent %s%s did %s for the first time.', agent_id, delegated, action_type),
       store_seq, event_id, occurred_at, received_at
FROM acts
UNION ALL
SELECT $detector, tenant || '/' || root_agent, 'resource ' || resource_kind || ' ' || resource_id, tenant, agent_id,
       'agent:' || agent_id, 'warning',
       printf('Agent %s%s used %s %s for the first time (%s).', agent_id, delegated, resource_kind, resource_id,
              action_type),
       store_seq, event_id, occurred_at, received_at
FROM acts
WHERE list_contains($resource_kinds, resource_kind);
