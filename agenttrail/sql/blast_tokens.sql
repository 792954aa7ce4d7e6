-- The blast radius's lineage (agenttrail/blast_radius.py): $fingerprint and every token minted from it, at any
-- depth and in its tenant, as AgentTrail knew them at $as_of (tokens first received by then, parents named by
-- then), each with its revocation in force at $as_of, if any. The other blast_*.sql read this temp table.
CREATE OR REPLACE TEMP TABLE blast_tokens AS
WITH RECURSIVE tree(fingerprint, parent, depth) AS (
    SELECT fingerprint, NULL::VARCHAR, 0
    FROM token_lineage
    WHERE fingerprint = $fingerprint AND first_received <= $as_of
    UNION
    SELECT l.fingerprint, t.fingerprint, t.depth + 1
    FROM token_lineage AS l
    JOIN tree AS t ON l.parent_fingerprint = t.fingerprint
    WHERE l.parent_known_at <= $as_of AND t.depth < 64  -- only a forged cycle of parents gets this deep
)
SELECT t.fingerprint, t.parent, t.depth, l.tenant, l.holder_agent_id AS holder, l.issuer, l.token_id,
       l.first_seen, l.first_received, x.status, x.valid_from AS stopped_at, x.reason, x.decided_by, x.rule_id,
       x.caused_by, x.cause_event_id
FROM tree AS t
JOIN token_lineage AS l USING (fingerprint)
LEFT JOIN enforcement AS x
  ON x.subject_kind = 'token' AND x.subject = t.fingerprint AND x.valid_from <= $as_of
 AND (x.valid_to IS NULL OR x.valid_to > $as_of)
WHERE l.tenant = (SELECT tenant FROM token_lineage WHERE fingerprint = $fingerprint)
QUALIFY row_number() OVER (PARTITION BY t.fingerprint ORDER BY t.depth) = 1
ORDER BY t.depth, l.first_received, t.fingerprint;
