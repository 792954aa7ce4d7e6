-- The batch's tokens (batch_events) join the lineage: each fingerprint's first event in store order names its
-- holder, issuer and parent; a parent seen only as a parent gets a row of its own. Later events only fill
-- what is still unknown, so the lineage is the same whatever the batch boundaries; parent_seq says where the
-- parent was first named, for the revocations that reach a token through it.
INSERT INTO token_lineage BY NAME
SELECT fingerprint, arg_min(tenant, seq) AS tenant,
       arg_min(parent, seq) FILTER (WHERE parent IS NOT NULL) AS parent_fingerprint,
       min(seq) FILTER (WHERE parent IS NOT NULL) AS parent_seq,
       arg_min(event_id, seq) FILTER (WHERE parent IS NOT NULL) AS parent_event_id,
       arg_min(received_at, seq) FILTER (WHERE parent IS NOT NULL) AS parent_received,
       arg_min(holder, seq) FILTER (WHERE holder IS NOT NULL) AS holder_agent_id,
       arg_min(issuer, seq) FILTER (WHERE issuer IS NOT NULL) AS issuer,
       arg_min(token_id, seq) FILTER (WHERE token_id IS NOT NULL) AS token_id,
       min(seq) AS first_seq, arg_min(event_id, seq) AS first_event_id, arg_min(occurred_at, seq) AS first_seen,
       arg_min(received_at, seq) AS first_received
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
    parent_fingerprint = coalesce(parent_fingerprint, excluded.parent_fingerprint),
    parent_seq = CASE WHEN parent_fingerprint IS NULL THEN excluded.parent_seq ELSE parent_seq END,
    parent_event_id = CASE WHEN parent_fingerprint IS NULL THEN excluded.parent_event_id ELSE parent_event_id END,
    parent_received = CASE WHEN parent_fingerprint IS NULL THEN excluded.parent_received ELSE parent_received END,
    holder_agent_id = coalesce(holder_agent_id, excluded.holder_agent_id),
    issuer = coalesce(issuer, excluded.issuer),
    token_id = coalesce(token_id, excluded.token_id);
