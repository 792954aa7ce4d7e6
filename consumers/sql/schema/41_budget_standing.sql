-- Budgets as they stood at a moment, for any number of scopes at once: the one definition behind
-- queries/budget_status.sql (one scope, `agenttrail budget show`) and a blast radius (every scope its lineage
-- spent against, agenttrail/blast_radius.py). `asks` is a list of {scope, model}: tenant:T, principal:P,
-- agent:A (without a budget of its own, under its tenant's agent:* default) or token:FINGERPRINT, and the model
-- the budget is scoped to, if any. Spend counts charges that had occurred and been received by `as_of`, so the
-- answer for a past moment is what was known then; other currencies are listed, never converted.
CREATE OR REPLACE MACRO budget_standing(for_tenant, asks, as_of) AS TABLE
WITH asked AS (
    SELECT ask.scope AS asked_scope, ask.model AS asked_model,
           substr(ask.scope, strpos(ask.scope, ':') + 1) AS subject
    FROM (SELECT unnest(asks) AS ask)
),
budget AS (
    SELECT a.asked_scope, a.subject, b.tenant, b.budget_id, b.scope_kind, b.model, b.limit_amount, b.currency,
           b.period, b.thresholds, b.on_exceed, as_of::TIMESTAMPTZ AS as_of
    FROM asked AS a
    JOIN budgets AS b
      ON b.tenant = for_tenant AND b.limit_amount IS NOT NULL
     AND b.valid_from <= as_of::TIMESTAMPTZ AND (b.valid_to IS NULL OR b.valid_to > as_of::TIMESTAMPTZ)
     AND b.model IS NOT DISTINCT FROM a.asked_model
     AND (b.budget_id = a.asked_scope || coalesce('|model=' || a.asked_model, '')
          OR (b.scope_kind = 'agent' AND b.scope_id = '*' AND a.asked_scope LIKE 'agent:%'))
    QUALIFY row_number() OVER (PARTITION BY a.asked_scope, a.asked_model ORDER BY b.scope_id = '*') = 1
),
period AS (
    SELECT *,
           CASE period
               WHEN 'day' THEN date_trunc('day', make_timestamp(epoch_us(as_of)))
               WHEN 'week' THEN date_trunc('week', make_timestamp(epoch_us(as_of)))
               WHEN 'month' THEN date_trunc('month', make_timestamp(epoch_us(as_of)))
               ELSE TIMESTAMP '1970-01-01'
           END AS period_start
    FROM budget
),
charges AS (
    SELECT p.asked_scope, p.model, e.cost_currency, e.cost_amount
    FROM events AS e
    JOIN period AS p
      ON e.tenant = p.tenant AND make_timestamp(epoch_us(e.occurred_at)) >= p.period_start
     AND e.occurred_at <= p.as_of AND e.received_at <= p.as_of
     AND (p.model IS NULL OR e.agent_model = p.model)
     AND CASE p.scope_kind
           WHEN 'tenant' THEN true
           WHEN 'principal' THEN principal_in_scope(e.principal_id, p.subject)
           WHEN 'token' THEN e.token_fingerprint = p.subject
           WHEN 'agent' THEN e.agent_id = p.subject
         END
    WHERE e.tenant = for_tenant AND e.cost_amount IS NOT NULL AND e.occurred_at <= as_of::TIMESTAMPTZ
),
totals AS (
    SELECT asked_scope, model, cost_currency, sum(cost_amount) AS total
    FROM charges
    GROUP BY ALL
)
SELECT
    p.tenant,
    p.asked_scope AS scope,
    p.budget_id,
    p.period,
    p.period_start,
    p.limit_amount AS "limit",
    p.currency,
    coalesce(own.total, 0)::DECIMAL(38, 9) AS spent,
    p.limit_amount - coalesce(own.total, 0) AS remaining,
    (SELECT string_agg(t.cost_currency || ' ' || t.total, ', ' ORDER BY t.cost_currency)
     FROM totals AS t
     WHERE t.asked_scope = p.asked_scope AND t.model IS NOT DISTINCT FROM p.model
       AND t.cost_currency <> p.currency) AS unconverted,
    array_to_string(p.thresholds, ',') AS thresholds,
    p.on_exceed,
    p.as_of
FROM period AS p
LEFT JOIN totals AS own
  ON own.asked_scope = p.asked_scope AND own.model IS NOT DISTINCT FROM p.model AND own.cost_currency = p.currency
ORDER BY p.asked_scope, p.model NULLS FIRST;
