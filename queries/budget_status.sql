-- One scope's budget as of a moment: limit, spent in that period, remaining, and other currencies unconverted.
-- An agent without a budget of its own shows the tenant's "agent:*" default. Spend counts charges that
-- had occurred and been received by as_of, so the answer for a past moment is what was known then.
-- param tenant: text required -- tenant
-- param scope: text required -- tenant:T, principal:P, agent:A or token:FINGERPRINT
-- param model: text -- the model the budget is scoped to, if any
-- param as_of: timestamp = 0m -- the moment to answer for (30m, 2h, 7d or an ISO date; default now)
WITH budget AS (
    SELECT b.*, $as_of::TIMESTAMPTZ AS as_of
    FROM budgets AS b
    WHERE b.tenant = $tenant::VARCHAR
      AND b.valid_from <= $as_of::TIMESTAMPTZ AND (b.valid_to IS NULL OR b.valid_to > $as_of::TIMESTAMPTZ)
      AND b.limit_amount IS NOT NULL
      AND b.model IS NOT DISTINCT FROM $model::VARCHAR
      AND (b.budget_id = $scope::VARCHAR || coalesce('|model=' || $model::VARCHAR, '')
           OR (b.scope_kind = 'agent' AND b.scope_id = '*' AND $scope::VARCHAR LIKE 'agent:%'))
    ORDER BY b.scope_id = '*'
    LIMIT 1
),
period AS (
    SELECT
        budget.*,
        CASE period
            WHEN 'day' THEN date_trunc('day', make_timestamp(epoch_us(as_of)))
            WHEN 'week' THEN date_trunc('week', make_timestamp(epoch_us(as_of)))
            WHEN 'month' THEN date_trunc('month', make_timestamp(epoch_us(as_of)))
            ELSE TIMESTAMP '1970-01-01'
        END AS period_start,
        substr($scope::VARCHAR, strpos($scope::VARCHAR, ':') + 1) AS subject
    FROM budget
),
charges AS (
    SELECT e.cost_currency, e.cost_amount
    FROM events AS e, period AS p
    WHERE e.tenant = p.tenant AND e.cost_amount IS NOT NULL
      AND make_timestamp(epoch_us(e.occurred_at)) >= p.period_start
      AND e.occurred_at <= p.as_of AND e.received_at <= p.as_of
      AND (p.model IS NULL OR e.agent_model = p.model)
      AND CASE p.scope_kind
            WHEN 'tenant' THEN true
            WHEN 'principal' THEN e.principal_id = p.subject
            WHEN 'token' THEN e.token_fingerprint = p.subject
            WHEN 'agent' THEN e.agent_id = p.subject
          END
)
SELECT
    p.tenant,
    $scope::VARCHAR AS scope,
    p.budget_id,
    p.period,
    p.period_start,
    p.limit_amount AS "limit",
    p.currency,
    coalesce((SELECT sum(cost_amount) FROM charges WHERE cost_currency = p.currency), 0)::DECIMAL(38, 9) AS spent,
    p.limit_amount - coalesce((SELECT sum(cost_amount) FROM charges WHERE cost_currency = p.currency), 0)
        AS remaining,
    (SELECT string_agg(cost_currency || ' ' || total, ', ' ORDER BY cost_currency)
     FROM (SELECT cost_currency, sum(cost_amount) AS total FROM charges
           WHERE cost_currency <> p.currency GROUP BY ALL)) AS unconverted,
    array_to_string(p.thresholds, ',') AS thresholds,
    p.on_exceed,
    p.as_of
FROM period AS p
