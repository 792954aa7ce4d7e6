-- The budget scopes the lineage spent against (blast_tokens, blast_events) that had a budget in force at $as_of:
-- its tenant, the principals and agents it acted for and as (an agent without a budget of its own under the
-- tenant's agent:* default), and its tokens. queries/budget_status.sql answers each as of $as_of.
WITH scopes(scope) AS (
    SELECT 'tenant:' || tenant FROM blast_tokens
    UNION SELECT 'principal:' || principal_id FROM blast_events
    UNION SELECT 'agent:' || agent_id FROM blast_events
    UNION SELECT 'agent:' || holder FROM blast_tokens WHERE holder IS NOT NULL
    UNION SELECT 'token:' || fingerprint FROM blast_tokens
),
in_force AS (
    SELECT scope_kind || ':' || scope_id AS scope, model
    FROM budgets
    WHERE tenant = $tenant AND limit_amount IS NOT NULL AND valid_from <= $as_of
      AND (valid_to IS NULL OR valid_to > $as_of)
)
SELECT DISTINCT s.scope, b.model
FROM scopes AS s
JOIN in_force AS b ON b.scope = s.scope OR (s.scope LIKE 'agent:%' AND b.scope = 'agent:*' AND b.model IS NULL)
ORDER BY s.scope, b.model NULLS FIRST
