-- Spend spike and drift points: every charge, per agent, currency and action type. Money is never summed
-- across currencies, and each kind of spend (model calls, tools, purchases) has its own baseline, so a
-- runaway model loop is not hidden behind an agent's usual purchases. $skip_actions are left out.
INSERT INTO spike_points
SELECT $detector, tenant, agent_id, tenant || '/' || agent_id || '|' || cost_currency || '|' || action_type, NULL,
       'agent:' || agent_id, cost_currency || ' spent on ' || action_type, store_seq, event_id, occurred_at,
       received_at, cost_amount
FROM batch_events
WHERE cost_amount IS NOT NULL AND phase = 'completed' AND NOT list_contains($skip_actions, action_type);
