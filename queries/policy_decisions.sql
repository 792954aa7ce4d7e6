-- What policy rules decided, newest first: which rule version fired on which token or agent, at which event,
-- and what it did (enforce) or would have done (dry_run).
-- param tenant: text -- tenant; omitted means every tenant
-- param rule: text -- only this rule id
-- param mode: text -- enforce or dry_run; omitted means both
-- param since: timestamp -- earliest decided_at, inclusive (30m, 2h, 7d or an ISO date)
-- param limit: int = 1000 -- maximum rows
SELECT decided_at, tenant, rule_id, rule_version, mode, action, severity, subject_kind, subject, reason, event_id,
       set_name, rules_sha256, decision_id
FROM policy_decisions
WHERE ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
  AND ($rule::VARCHAR IS NULL OR rule_id = $rule::VARCHAR)
  AND ($mode::VARCHAR IS NULL OR mode = $mode::VARCHAR)
  AND ($since::TIMESTAMPTZ IS NULL OR decided_at >= $since::TIMESTAMPTZ)
ORDER BY store_seq DESC, decision_id
LIMIT $limit::BIGINT
