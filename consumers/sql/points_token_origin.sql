-- Token-origin points: where each token is used from (the acting agent's region and source address).
INSERT INTO novelty_points
SELECT $detector, token_fingerprint, 'region ' || agent_region, tenant, agent_id, 'token:' || token_fingerprint,
       'critical',
       printf('Token %s was used from region %s for the first time, by agent %s.', token_fingerprint, agent_region,
              agent_id),
       store_seq, event_id, occurred_at, received_at
FROM batch_events
WHERE token_fingerprint IS NOT NULL AND agent_region IS NOT NULL
UNION ALL
SELECT $detector, token_fingerprint, 'source ' || source_address, tenant, agent_id, 'token:' || token_fingerprint,
       'critical',
       printf('Token %s was used from address %s for the first time, by agent %s.', token_fingerprint,
              source_address, agent_id),
       store_seq, event_id, occurred_at, received_at
FROM batch_events
WHERE token_fingerprint IS NOT NULL AND source_address IS NOT NULL;
