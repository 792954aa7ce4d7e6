-- Revocations and suspensions, newest first: who or what stopped which token or agent, why, by which rule
-- or person, through which token a cascade reached it (caused_by), and whether it was lifted (history: a
-- reinstated row keeps both facts).
-- param tenant: text -- tenant; omitted means every tenant
-- param subject: text -- a token fingerprint or an agent id
-- param status: text -- in_force or lifted; omitted means both
-- param since: timestamp -- earliest valid_from, inclusive (30m, 2h, 7d or an ISO date)
-- param limit: int = 1000 -- maximum rows
SELECT
    x.valid_from,
    x.tenant,
    x.subject_kind,
    x.subject,
    x.status,
    x.reason,
    x.decided_by,
    x.rule_id,
    x.root,
    x.caused_by,
    l.holder_agent_id AS holder,
    l.issuer,
    x.cause_event_id,
    x.valid_to AS lifted_at,
    x.lifted_by,
    x.lift_reason
FROM enforcement AS x
LEFT JOIN token_lineage AS l ON x.subject_kind = 'token' AND l.fingerprint = x.subject
WHERE ($tenant::VARCHAR IS NULL OR x.tenant = $tenant::VARCHAR)
  AND ($subject::VARCHAR IS NULL OR x.subject = $subject::VARCHAR)
  AND ($status::VARCHAR IS NULL OR $status::VARCHAR = CASE WHEN x.valid_to_seq IS NULL THEN 'in_force' ELSE 'lifted' END)
  AND ($since::TIMESTAMPTZ IS NULL OR x.valid_from >= $since::TIMESTAMPTZ)
ORDER BY x.valid_from_seq DESC, x.subject
LIMIT $limit::BIGINT
