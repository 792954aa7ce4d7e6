-- One token's whole lineage: the root it descends from and every token minted from that root, each with
-- its parent, holder, issuer, first use and whether a revocation is in force on it (tree order by path).
-- param fingerprint: text required -- any token of the lineage (hmac-sha256:k1:...)
-- param tenant: text -- only when the token belongs to this tenant
WITH RECURSIVE up(fingerprint, parent_fingerprint, hops) AS (
    SELECT fingerprint, parent_fingerprint, 0 FROM token_lineage
    WHERE fingerprint = $fingerprint::VARCHAR AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
    UNION ALL
    SELECT l.fingerprint, l.parent_fingerprint, up.hops + 1
    FROM up JOIN token_lineage AS l ON l.fingerprint = up.parent_fingerprint
    WHERE up.hops < 64
),
root AS (
    SELECT fingerprint FROM up ORDER BY hops DESC LIMIT 1
),
down(fingerprint, depth, path) AS (
    SELECT fingerprint, 0, [fingerprint] FROM root
    UNION ALL
    SELECT l.fingerprint, down.depth + 1, list_append(down.path, l.fingerprint)
    FROM down JOIN token_lineage AS l ON l.parent_fingerprint = down.fingerprint
    WHERE down.depth < 64 AND NOT list_contains(down.path, l.fingerprint)
)
SELECT
    d.depth,
    d.fingerprint,
    l.parent_fingerprint,
    l.holder_agent_id AS holder,
    l.issuer,
    l.token_id,
    l.first_seen,
    l.first_event_id,
    coalesce(x.status, 'active') AS status,
    x.valid_from AS revoked_at,
    x.reason,
    x.decided_by,
    d.fingerprint = $fingerprint::VARCHAR AS asked,
    l.tenant
FROM down AS d
JOIN token_lineage AS l USING (fingerprint)
LEFT JOIN enforcement_in_force AS x ON x.subject_kind = 'token' AND x.subject = d.fingerprint
ORDER BY d.path
