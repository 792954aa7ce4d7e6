-- Failure-burst points: every completed action of an agent that failed or was denied counts one.
INSERT INTO spike_points
SELECT $detector, tenant, agent_id, tenant || '/' || agent_id, 'agent:' || agent_id, 'failures or denials',
       store_seq, event_id, occurred_at, received_at, 1
FROM batch_events
WHERE phase = 'completed' AND outcome IN ('failure', 'denied');
