-- Sensitive-burst points: an agent's completed sensitive actions ($sensitive_actions: buying, registering,
-- issuing tokens, deploying), one each, counted per action type, so an agent's everyday domain registrations
-- do not set the bar for a spree of purchases. Every type's history starts at the agent's first sensitive
-- action of any type (the origin), which is new_behaviour's to flag: a type the agent never did before is
-- judged against zeros, not left in a cold start of its own. Only these events make points, so the detector
-- costs next to nothing on a batch of model and tool calls.
INSERT INTO spike_points
SELECT $detector, tenant, agent_id, tenant || '/' || agent_id || '|' || action_type, tenant || '/' || agent_id,
       'agent:' || agent_id, action_type || ' actions', store_seq, event_id, occurred_at, received_at, 1
FROM batch_events
WHERE phase = 'completed' AND list_contains($sensitive_actions, action_type);
