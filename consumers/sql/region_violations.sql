-- Region-violation hits: each action whose resource or data region lies outside its tenant's allowed
-- regions, judged by the rule in force at its place in the store order (as `query locality-violations`).
-- One flag per agent and region while it goes on ($gap_us between hits).
INSERT INTO anomaly_hits
SELECT
    'region_violation', e.tenant, e.tenant || '/' || e.agent_id || '|' || e.outside.region, 'agent:' || e.agent_id,
    e.agent_id, e.store_seq, e.event_id, e.occurred_at, e.received_at, 1.0,
    CASE e.outside.side WHEN 'data' THEN 'critical' ELSE 'warning' END,
    printf('Agent %s used %s region %s, outside the regions %s allows (%s).', e.agent_id, e.outside.side,
           e.outside.region, e.tenant, array_to_string(e.allowed, ', ')),
    [e.event_id], $gap_us
FROM (
    SELECT b.*, r.regions AS allowed, region_outside(r.regions, b.resource_region, b.data_region) AS outside
    FROM batch_events AS b
    JOIN tenant_regions AS r
      ON r.tenant = b.tenant AND b.store_seq > r.valid_from_seq
     AND (r.valid_to_seq IS NULL OR b.store_seq < r.valid_to_seq)
    WHERE r.regions IS NOT NULL AND b.phase = 'completed'
) AS e
WHERE e.outside IS NOT NULL;
