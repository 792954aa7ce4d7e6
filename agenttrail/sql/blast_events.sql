-- The blast radius's events: every stored event that carried a token of blast_tokens (blast_tokens.sql), in
-- its tenant, that occurred at or after $since (NULL: ever) and was received by $as_of. after_revocation marks
-- the attempts a revocation should have stopped: a use of a token revoked at that event's place in the store
-- order (refused by a guard, or not, by a client that runs none), and the minting of a token from a revoked
-- lineage (the built-in rule $lineage_rule decided on it). The section queries (blast_*.sql) read this table, where
-- a person's sealed id and address read as their value, or [erased] (schemas/sealing.py).
CREATE OR REPLACE TEMP TABLE blast_events AS
SELECT e.store_seq, e.event_id, e.occurred_at, e.received_at, e.agent_id, e.agent_version, e.agent_region,
       e.principal_kind, unseal(e.principal_id) AS principal_id, e.action_type, e.action_name, e.phase, e.outcome,
       e.error_code, e.resource_kind, e.resource_id, e.resource_region, e.data_region,
       unseal(e.source_address) AS source_address, e.cost_amount, e.cost_currency, e.token_fingerprint, e.trace_id,
       x.subject IS NOT NULL OR d.decision_id IS NOT NULL AS after_revocation,
       coalesce(x.valid_from, d.decided_at) AS revoked_at, coalesce(x.reason, d.reason) AS revoked_because
FROM events AS e
JOIN blast_tokens AS t ON e.token_fingerprint = t.fingerprint AND e.tenant = t.tenant
LEFT JOIN enforcement AS x
  ON x.subject_kind = 'token' AND x.subject = e.token_fingerprint AND x.valid_from_seq < e.store_seq
 AND (x.valid_to_seq IS NULL OR x.valid_to_seq > e.store_seq)
LEFT JOIN policy_decisions AS d ON d.event_id = e.event_id AND d.rule_id = $lineage_rule
WHERE ($since::TIMESTAMPTZ IS NULL OR e.occurred_at >= $since::TIMESTAMPTZ) AND e.received_at <= $as_of;
