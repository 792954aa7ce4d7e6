-- Spend spike and drift points: every charge, per agent and currency (money is never summed across currencies).
INSERT INTO spike_points
SELECT $detector, tenant, agent_id, tenant || '/' || agent_id || '|' || cost_currency, 'agent:' || agent_id,
       cost_currency || ' spent', store_seq, event_id, occurred_at, received_at, cost_amount
FROM batch_events
WHERE cost_amount IS NOT NULL AND phase = 'completed';
