-- The budgets the lineage spent against (blast_tokens, blast_events) as they stood at $as_of: its tenant's, those
-- of the principals and agents it acted for and as (an agent without a budget of its own under the tenant's
-- agent:* default), and its tokens', each with what was spent and remained then (the budget_standing macro,
-- consumers/sql/schema/41_budget_standing.sql, as `agenttrail budget show --as-of` answers one).
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
),
asked AS (
    SELECT DISTINCT s.scope, b.model
    FROM scopes AS s
    JOIN in_force AS b ON b.scope = s.scope OR (s.scope LIKE 'agent:%' AND b.scope = 'agent:*' AND b.model IS NULL)
)
SELECT *
FROM budget_standing($tenant::VARCHAR, (SELECT list({'scope': scope, 'model': model}) FROM asked),
                     $as_of::TIMESTAMPTZ)
