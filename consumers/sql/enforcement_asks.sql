-- What the batch asks of enforcement, in store order: revocations, suspensions and reinstatements from
-- control events (batch_control); enforce-mode policy decisions made at this batch's events; and budgets past
-- 100% whose on_exceed is suspend or revoke (their alerts, raised at this batch's events: batch_events, whose
-- store_seq span is $first_seq..$last_seq). A token-scoped budget revokes the token and its tree; an
-- agent-scoped one suspends the agent. Tenant and principal budgets only alert: they name no one to stop.
SELECT store_seq AS seq, received_at AS at, tenant, event_id AS cause_event_id,
       CASE WHEN kind IN ('token.reinstate', 'agent.reinstate') THEN 'lift'
            WHEN kind = 'token.revoke' THEN 'revoked' ELSE 'suspended' END AS verb,
       split_part(kind, '.', 1) AS subject_kind,
       coalesce(json_extract_string(payload, '$.fingerprint'), json_extract_string(payload, '$.agent_id')) AS subject,
       coalesce(CAST(json_extract(payload, '$.tree') AS BOOLEAN), false) AS tree,
       coalesce(reason, kind || ' without a reason given') AS reason,
       NULL::VARCHAR AS rule_id, actor_kind || ':' || actor_id AS decided_by
FROM batch_control
WHERE kind IN ('token.revoke', 'token.reinstate', 'agent.suspend', 'agent.reinstate')
UNION ALL
SELECT a.store_seq, a.raised_at, a.tenant, e.event_id,
       CASE WHEN a.scope LIKE 'token:%' THEN 'revoked' ELSE 'suspended' END,
       split_part(a.scope, ':', 1), substr(a.scope, strpos(a.scope, ':') + 1), true, a.summary,
       a.budget_id, 'budget:' || a.budget_id
FROM alerts AS a
JOIN batch_events AS e USING (store_seq)
WHERE a.store_seq BETWEEN $first_seq AND $last_seq  -- prunes history by zone maps before the join
  AND a.kind = 'budget.threshold' AND a.threshold_pct >= 100 AND a.action IN ('suspend', 'revoke')
  AND (a.scope LIKE 'token:%' OR a.scope LIKE 'agent:%')
UNION ALL
SELECT d.store_seq, d.decided_at, d.tenant, d.event_id,
       CASE d.action WHEN 'suspend_agent' THEN 'suspended' ELSE 'revoked' END, d.subject_kind, d.subject,
       d.action = 'revoke_token_tree', d.reason, d.rule_id || '@v' || d.rule_version, 'policy:' || d.set_name
FROM policy_decisions AS d
JOIN batch_events AS e USING (store_seq)
WHERE d.store_seq BETWEEN $first_seq AND $last_seq
  AND d.mode = 'enforce' AND d.action IN ('revoke_token', 'revoke_token_tree', 'suspend_agent')
ORDER BY seq, cause_event_id;
