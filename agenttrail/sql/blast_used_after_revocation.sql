-- What the lineage tried after its tokens were revoked (blast_events), newest first, at most $limit.
SELECT occurred_at, agent_id, action_type, action_name, outcome, error_code, token_fingerprint, revoked_at,
       revoked_because, source_address, event_id
FROM blast_events
WHERE after_revocation
ORDER BY store_seq DESC
LIMIT $limit
