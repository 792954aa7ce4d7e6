-- Token-origin points: where each token is used from (the acting agent's region and source address).
-- A sealed source address (an action for a person, schemas/sealing.py) is a reference under that person's key in
-- that emitter, so it is judged against the token's other uses under the same key: the first use under a new key
-- (an agent restarted, a second process) is learned, not flagged, and a new address under one key still is.
INSERT INTO novelty_points
SELECT $detector, token_fingerprint, 'region ' || agent_region, tenant, agent_id, 'token:' || token_fingerprint,
       'critical',
       printf('Token %s was used from region %s for the first time, by agent %s.', token_fingerprint, agent_region,
              agent_id),
       store_seq, event_id, occurred_at, received_at
FROM batch_events
WHERE token_fingerprint IS NOT NULL AND agent_region IS NOT NULL
UNION ALL
SELECT $detector,
       CASE WHEN starts_with(source_address, 'sealed:')
            THEN token_fingerprint || ' under key ' || split_part(source_address, ':', 2) ELSE token_fingerprint END,
       'source ' || source_address, tenant, agent_id, 'token:' || token_fingerprint,
       'critical',
       printf('Token %s was used from address %s for the first time, by agent %s.', token_fingerprint,
              source_address, agent_id),
       store_seq, event_id, occurred_at, received_at
FROM batch_events
WHERE token_fingerprint IS NOT NULL AND source_address IS NOT NULL;
