-- The batch's tokens (batch_events) join the lineage: each fingerprint's first event in store order names its
-- holder, issuer and parent; a parent seen only as a parent gets a row of its own. Later events only fill
-- what is still unknown, and a parent filled in later keeps the place it was named at (parent_seq), so the
-- lineage is the same whatever the batch boundaries and can be read as of any moment.
INSERT INTO token_lineage
SELECT fingerprint, arg_min(tenant, seq),
       arg_min(parent, seq) FILTER (WHERE parent IS NOT NULL),
       arg_min(holder, seq) FILTER (WHERE holder IS NOT NULL),
       arg_min(issuer, seq) FILTER (WHERE issuer IS NOT NULL),
       arg_min(token_id, seq) FILTER (WHERE token_id IS NOT NULL),
       min(seq), arg_min(event_id, seq), arg_min(occurred_at, seq), arg_min(received_at, seq),
       min(seq) FILTER (WHERE parent IS NOT NULL), arg_min(received_at, seq) FILTER (WHERE parent IS NOT NULL)
FROM (
    SELECT token_fingerprint AS fingerprint, tenant, parent_token_fingerprint AS parent, agent_id AS holder,
           token_issuer AS issuer, token_id, store_seq AS seq, event_id, occurred_at, received_at
    FROM batch_events
    WHERE token_fingerprint IS NOT NULL
    UNION ALL
    SELECT parent_token_fingerprint, tenant, NULL, NULL, NULL, NULL, store_seq, event_id, occurred_at, received_at
    FROM batch_events
    WHERE parent_token_fingerprint IS NOT NULL
)
GROUP BY fingerprint
ON CONFLICT (fingerprint) DO UPDATE SET
    parent_seq = CASE WHEN parent_fingerprint IS NULL THEN excluded.parent_seq ELSE parent_seq END,
    parent_known_at = CASE WHEN parent_fingerprint IS NULL THEN excluded.parent_known_at ELSE parent_known_at END,
    parent_fingerprint = coalesce(parent_fingerprint, excluded.parent_fingerprint),
    holder_agent_id = coalesce(holder_agent_id, excluded.holder_agent_id),
    issuer = coalesce(issuer, excluded.issuer),
    token_id = coalesce(token_id, excluded.token_id);
