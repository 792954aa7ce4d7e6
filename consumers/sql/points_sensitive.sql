-- Sensitive-burst points: every completed action of an agent, counting one when it is sensitive
-- ($sensitive_actions: buying, registering, issuing tokens, deploying) and zero otherwise, so an agent's
-- history starts with its first action and one that never buys has a baseline of zeros, not none.
INSERT INTO spike_points
SELECT $detector, tenant, agent_id, tenant || '/' || agent_id, 'agent:' || agent_id, 'sensitive actions',
       store_seq, event_id, occurred_at, received_at, CASE WHEN list_contains($sensitive_actions, action_type)
                                                           THEN 1 ELSE 0 END
FROM batch_events
WHERE phase = 'completed';
