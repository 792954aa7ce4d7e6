-- Sensitive-burst points: an agent's completed sensitive actions ($sensitive_actions: buying, registering,
-- issuing tokens, deploying), one each. Its series starts at its first one, which is new_behaviour's to
-- flag; the ones after are judged against its own rate. Only these events make points, so the detector
-- costs next to nothing on a batch of model and tool calls.
INSERT INTO spike_points
SELECT $detector, tenant, agent_id, tenant || '/' || agent_id, 'agent:' || agent_id, 'sensitive actions',
       store_seq, event_id, occurred_at, received_at, 1
FROM batch_events
WHERE phase = 'completed' AND list_contains($sensitive_actions, action_type);
