-- Action-rate points: every completed action of an agent counts one.
INSERT INTO spike_points
SELECT $detector, tenant, agent_id, tenant || '/' || agent_id, NULL, 'agent:' || agent_id, 'actions',
       store_seq, event_id, occurred_at, received_at, 1
FROM batch_events
WHERE phase = 'completed';
