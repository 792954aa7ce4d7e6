-- The stored events that may be evidence for this batch's spike hits: their agents' events from the
-- first point of each hit bucket to the hit. Columns as the points scripts read them.
SELECT e.store_seq, e.event_id, e.received_at, e.occurred_at, e.tenant, e.agent_id, e.action_type, e.phase, e.outcome,
       e.cost_amount, e.cost_currency
FROM events AS e
WHERE e.store_seq BETWEEN (SELECT min(bucket_first_seq) FROM spike_hits) AND (SELECT max(store_seq) FROM spike_hits)
  AND (e.tenant, e.agent_id) IN (SELECT DISTINCT tenant, agent_id FROM spike_hits)
ORDER BY e.store_seq
