-- One token as an introspection answer (RFC 7662 in spirit): active or not, and if not since when, why, by
-- which rule and through which token (caused_by: the parent a cascade came through); its parent, holder and
-- issuer, and how many tokens were minted from it.
-- param fingerprint: text required -- the token's fingerprint (hmac-sha256:k1:...)
SELECT
    f.fingerprint,
    x.subject IS NULL AS active,
    x.status,
    x.valid_from AS revoked_at,
    x.reason,
    x.rule_id,
    x.decided_by,
    x.root,
    x.caused_by,
    coalesce(l.tenant, x.tenant) AS tenant,  -- a token revoked before any event used it has only its revocation's
    l.parent_fingerprint,
    l.holder_agent_id AS holder,
    l.issuer,
    l.first_seen,
    (SELECT count(*) FROM token_lineage AS c WHERE c.parent_fingerprint = f.fingerprint) AS children,
    l.fingerprint IS NOT NULL AS known
FROM (SELECT $fingerprint::VARCHAR AS fingerprint) AS f
LEFT JOIN token_lineage AS l USING (fingerprint)
LEFT JOIN enforcement_in_force AS x ON x.subject_kind = 'token' AND x.subject = f.fingerprint
