-- Alerts raised at store_seq $first_seq..$last_seq, for the outbox (raised_at as naive UTC: no pytz needed):
-- budget alerts, anomaly flags as alerts of kind anomaly.<detector>, policy rules whose action is alert
-- (policy.alert), and revocations, suspensions and
-- their reinstatements (token.revoked, agent.suspended, token.reinstated, agent.reinstated), which carry
-- the token's issuer so a webhook can reach the issuer that must stop honouring it, and for each token of a
-- cascade the token it was revoked through (caused_by).
SELECT alert_id, raised_at AT TIME ZONE 'UTC' AS raised_at, tenant, kind, severity, summary, scope, action,
       evidence_event_ids, budget_id, threshold_pct, limit_amount, spent, projected, currency, top_agents, top_chains,
       NULL::DOUBLE AS score, NULL::VARCHAR AS agent_id, NULL::VARCHAR AS issuer, NULL::VARCHAR AS rule_id,
       NULL::VARCHAR AS root, NULL::VARCHAR AS caused_by, store_seq
FROM alerts
WHERE store_seq BETWEEN $first_seq AND $last_seq
UNION ALL
SELECT flag_id, raised_at AT TIME ZONE 'UTC', tenant, 'anomaly.' || kind, severity, summary, scope, 'alert',
       evidence_event_ids, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, round(score, 3), agent_id, NULL, NULL,
       NULL, NULL, raised_seq
FROM anomaly_flags
WHERE raised_seq BETWEEN $first_seq AND $last_seq
UNION ALL
SELECT decision_id, decided_at AT TIME ZONE 'UTC', tenant, 'policy.alert', severity,
       'Rule ' || rule_id || ' v' || rule_version || ' fired on ' || subject_kind || ' ' || subject || ': ' || reason,
       subject_kind || ':' || subject, 'alert', [event_id], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       CASE subject_kind WHEN 'agent' THEN subject END, NULL, rule_id || '@v' || rule_version, NULL, NULL, store_seq
FROM policy_decisions
WHERE store_seq BETWEEN $first_seq AND $last_seq AND action = 'alert' AND mode = 'enforce'
UNION ALL
SELECT n.notice_id, n.issued_at AT TIME ZONE 'UTC', n.tenant,
       n.subject_kind || '.' || CASE n.status WHEN 'reinstated' THEN 'reinstated' ELSE n.status END,
       CASE n.status WHEN 'reinstated' THEN 'info' ELSE 'critical' END,
       CASE n.subject_kind WHEN 'token' THEN 'Token ' ELSE 'Agent ' END || n.subject || ' ' || n.status || ': '
           || n.reason,
       n.subject_kind || ':' || n.subject,
       CASE n.status WHEN 'revoked' THEN 'revoke' WHEN 'suspended' THEN 'suspend' ELSE 'reinstate' END,
       [n.cause_event_id], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       CASE n.subject_kind WHEN 'agent' THEN n.subject ELSE l.holder_agent_id END, l.issuer, n.rule_id, n.root,
       n.caused_by, n.store_seq
FROM enforcement_notices AS n
LEFT JOIN token_lineage AS l ON n.subject_kind = 'token' AND l.fingerprint = n.subject
WHERE n.store_seq BETWEEN $first_seq AND $last_seq
ORDER BY store_seq, alert_id
