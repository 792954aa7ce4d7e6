-- Failure-burst points: every completed action of an agent, counting one when it failed or was denied and
-- zero otherwise, so an agent's history starts with its first action rather than its first failure.
INSERT INTO spike_points
SELECT $detector, tenant, agent_id, tenant || '/' || agent_id, NULL, 'agent:' || agent_id, 'failures or denials',
       store_seq, event_id, occurred_at, received_at, CASE WHEN outcome IN ('failure', 'denied') THEN 1 ELSE 0 END
FROM batch_events
WHERE phase = 'completed';
