-- Tokens seen in the trail, newest first: holder, issuer, parent, how many were minted from each, and status.
-- param tenant: text -- tenant; omitted means every tenant
-- param holder: text -- only tokens this agent held
-- param status: text -- active or revoked; omitted means both
-- param limit: int = 200 -- maximum rows
SELECT
    l.first_seen,
    l.tenant,
    l.fingerprint,
    l.holder_agent_id AS holder,
    l.issuer,
    l.token_id,
    l.parent_fingerprint,
    (SELECT count(*) FROM token_lineage AS c WHERE c.parent_fingerprint = l.fingerprint) AS children,
    coalesce(x.status, 'active') AS status,
    x.reason
FROM token_lineage AS l
LEFT JOIN enforcement_in_force AS x ON x.subject_kind = 'token' AND x.subject = l.fingerprint
WHERE ($tenant::VARCHAR IS NULL OR l.tenant = $tenant::VARCHAR)
  AND ($holder::VARCHAR IS NULL OR l.holder_agent_id = $holder::VARCHAR)
  AND ($status::VARCHAR IS NULL OR coalesce(x.status, 'active') = $status::VARCHAR)
ORDER BY l.first_seq DESC
LIMIT $limit::BIGINT
