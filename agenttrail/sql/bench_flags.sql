-- Every anomaly flag with the event that raised it, for scoring against the simulator's ground truth.
SELECT f.kind, f.tenant, f.scope, f.agent_id, f.first_seen, f.last_seen, f.raised_seq, f.summary,
       e.event_id AS raised_by, e.occurred_at AS raised_occurred_at
FROM anomaly_flags AS f
JOIN events AS e ON e.store_seq = f.raised_seq
ORDER BY f.raised_seq
