-- What the enforce-mode decisions made at store_seq $seq ask of enforcement: a revocation (with its tree for
-- revoke_token_tree) or a suspension, in the same shape as enforcement_asks.sql.
SELECT d.store_seq AS seq, d.decided_at AS at, d.tenant, d.event_id AS cause_event_id,
       CASE d.action WHEN 'suspend_agent' THEN 'suspended' ELSE 'revoked' END AS verb, d.subject_kind, d.subject,
       d.action = 'revoke_token_tree' AS tree, d.reason, d.rule_id || '@v' || d.rule_version AS rule_id,
       'policy:' || d.set_name AS decided_by
FROM policy_decisions AS d
WHERE d.store_seq = $seq AND d.mode = 'enforce' AND d.action IN ('revoke_token', 'revoke_token_tree', 'suspend_agent')
ORDER BY d.subject_kind, d.subject, d.rule_id;
