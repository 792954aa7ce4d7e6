-- The blast radius's timeline (blast_events): every event, oldest first by the agent's clock, at most $limit.
SELECT occurred_at, agent_id, agent_version, principal_id, action_type, action_name, outcome, error_code,
       resource_kind, resource_id, resource_region, agent_region, source_address, cost_amount, cost_currency,
       token_fingerprint, after_revocation, event_id
FROM blast_events
ORDER BY occurred_at, store_seq
LIMIT $limit
