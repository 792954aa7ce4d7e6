-- Every budget in force with what was spent this period, how much of the limit that is, which thresholds it
-- crossed, and a forecast to the period's end at the rate so far (the budget alerts' own projection).
-- The "agent:*" default is listed once per agent that spent this period without a budget of its own.
-- Spend is read from spend_daily (periods are whole UTC days); other currencies are not converted.
-- param tenant: text -- tenant; omitted means every tenant
-- param as_of: timestamp = 0m -- the moment to answer for (default now)
-- param limit: int = 50 -- maximum rows, fullest first
WITH moment AS (
    SELECT make_timestamp(epoch_us($as_of::TIMESTAMPTZ)) AS now_utc
),
periods AS (
    SELECT b.*, m.now_utc,
           CASE b.period WHEN 'total' THEN TIMESTAMP '1970-01-01' ELSE date_trunc(b.period, m.now_utc) END
               AS period_start,
           CASE b.period WHEN 'day' THEN date_trunc('day', m.now_utc) + INTERVAL 1 DAY
                         WHEN 'week' THEN date_trunc('week', m.now_utc) + INTERVAL 7 DAY
                         WHEN 'month' THEN date_trunc('month', m.now_utc) + INTERVAL 1 MONTH END AS period_end
    FROM budgets_current AS b, moment AS m
    WHERE $tenant::VARCHAR IS NULL OR b.tenant = $tenant::VARCHAR
),
subjects AS (
    SELECT *, scope_kind || ':' || scope_id AS scope, scope_id AS subject
    FROM periods WHERE NOT (scope_kind = 'agent' AND scope_id = '*')
    UNION ALL
    SELECT DISTINCT p.*, 'agent:' || d.agent_id, d.agent_id
    FROM periods AS p
    JOIN spend_daily AS d ON d.tenant = p.tenant AND d.day >= p.period_start::DATE AND d.currency = p.currency
    WHERE p.scope_kind = 'agent' AND p.scope_id = '*'
      AND NOT EXISTS (SELECT 1 FROM budgets_current AS own WHERE own.tenant = d.tenant AND own.scope_kind = 'agent'
                                                              AND own.scope_id = d.agent_id)
),
spent AS (
    SELECT s.tenant, s.budget_id, s.scope, s.period, s.period_start, s.period_end, s.now_utc, s.limit_amount,
           s.currency, s.thresholds, s.on_exceed,
           coalesce(sum(d.amount), 0)::DECIMAL(38, 9) AS spent
    FROM subjects AS s
    LEFT JOIN spend_daily AS d
      ON d.tenant = s.tenant AND d.currency = s.currency AND d.day >= s.period_start::DATE
     AND d.day <= s.now_utc::DATE AND (s.model IS NULL OR d.model = s.model)
     AND CASE s.scope_kind WHEN 'tenant' THEN true WHEN 'principal' THEN principal_in_scope(d.principal_id, s.subject)
                           WHEN 'agent' THEN d.agent_id = s.subject ELSE d.token_fingerprint = s.subject END
    GROUP BY ALL
)
SELECT
    tenant,
    scope,
    budget_id,
    period,
    period_start,
    period_end,
    limit_amount AS "limit",
    currency,
    spent,
    round(100 * spent / limit_amount, 1)::DOUBLE AS used_pct,
    CASE WHEN period_end IS NOT NULL THEN
        round(spent * (epoch(period_end) - epoch(period_start))
              / greatest(epoch(now_utc) - epoch(period_start), 1), 6)::DECIMAL(38, 6) END AS forecast,
    CASE WHEN period_end IS NOT NULL THEN
        round(100 * spent / limit_amount * (epoch(period_end) - epoch(period_start))
              / greatest(epoch(now_utc) - epoch(period_start), 1), 1)::DOUBLE END AS forecast_pct,
    thresholds,
    list_filter(thresholds, lambda t: t <= 100 * spent / limit_amount) AS crossed,
    on_exceed
FROM spent
ORDER BY used_pct DESC, tenant, scope
LIMIT $limit::BIGINT
