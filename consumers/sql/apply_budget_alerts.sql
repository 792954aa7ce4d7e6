-- Budget alerts for the batch's charged events (batch_events), before spend_daily includes them.
-- Each charge is matched to every budget in force at its store_seq; spend is the period's spend before
-- the batch plus a running sum in store order, so the charge that crossed a threshold is the same
-- whatever the batch boundaries (replay equals live). Alert ids make each alert fire once.

-- 1. every (charge, budget) pair; "agent:*" applies to agents without a budget of their own
CREATE OR REPLACE TEMP TABLE budget_charges AS
WITH charges AS (
    SELECT * FROM batch_events WHERE cost_amount IS NOT NULL
)
SELECT
    b.tenant, b.budget_id, b.scope_kind, b.scope_id, b.model AS budget_model, b.control_event_id,
    CASE WHEN b.scope_kind = 'agent' AND b.scope_id = '*' THEN e.agent_id ELSE '' END AS instance,
    b.limit_amount, b.currency, b.period, b.thresholds, b.on_exceed,
    CASE b.period
        WHEN 'day' THEN date_trunc('day', e.occurred_at AT TIME ZONE 'UTC')
        WHEN 'week' THEN date_trunc('week', e.occurred_at AT TIME ZONE 'UTC')
        WHEN 'month' THEN date_trunc('month', e.occurred_at AT TIME ZONE 'UTC')
        ELSE TIMESTAMP '1970-01-01'
    END AS period_start,
    e.store_seq, e.event_id, e.occurred_at, e.received_at, e.cost_amount AS amount
FROM charges AS e
JOIN budgets AS b
  ON b.tenant = e.tenant
 AND e.store_seq > b.valid_from_seq AND (b.valid_to_seq IS NULL OR e.store_seq < b.valid_to_seq)
 AND b.limit_amount IS NOT NULL
 AND b.currency = e.cost_currency
 AND (b.model IS NULL OR b.model = e.agent_model)
WHERE CASE b.scope_kind
        WHEN 'tenant' THEN true
        WHEN 'principal' THEN e.principal_id = b.scope_id
        WHEN 'token' THEN e.token_fingerprint = b.scope_id
        WHEN 'agent' THEN e.agent_id = b.scope_id OR (b.scope_id = '*' AND NOT EXISTS (
            SELECT 1 FROM budgets AS own
            WHERE own.tenant = e.tenant AND own.scope_kind = 'agent' AND own.scope_id = e.agent_id
              AND own.limit_amount IS NOT NULL AND own.currency = e.cost_currency
              AND (own.model IS NULL OR own.model = e.agent_model)
              AND e.store_seq > own.valid_from_seq AND (own.valid_to_seq IS NULL OR e.store_seq < own.valid_to_seq)))
      END;

-- 2. each (budget, instance, period)'s spend before this batch, from spend_daily
CREATE OR REPLACE TEMP TABLE budget_periods AS
SELECT
    k.tenant, k.budget_id, k.control_event_id, k.instance, k.period_start,
    CASE k.period
        WHEN 'day' THEN k.period_start + INTERVAL 1 DAY
        WHEN 'week' THEN k.period_start + INTERVAL 7 DAY
        WHEN 'month' THEN k.period_start + INTERVAL 1 MONTH
        ELSE TIMESTAMP '9999-01-01'
    END AS period_end,
    coalesce(sum(s.amount), 0)::DECIMAL(38, 9) AS prior
FROM (SELECT DISTINCT tenant, budget_id, control_event_id, scope_kind, scope_id, budget_model, instance,
                      currency, period, period_start FROM budget_charges) AS k
LEFT JOIN spend_daily AS s
  ON s.tenant = k.tenant AND s.currency = k.currency
 AND s.day >= k.period_start
 AND s.day < CASE k.period WHEN 'day' THEN k.period_start + INTERVAL 1 DAY
                           WHEN 'week' THEN k.period_start + INTERVAL 7 DAY
                           WHEN 'month' THEN k.period_start + INTERVAL 1 MONTH
                           ELSE TIMESTAMP '9999-01-01' END
 AND (k.budget_model IS NULL OR s.model = k.budget_model)
 AND CASE k.scope_kind
        WHEN 'tenant' THEN true
        WHEN 'principal' THEN s.principal_id = k.scope_id
        WHEN 'token' THEN s.token_fingerprint = k.scope_id
        WHEN 'agent' THEN s.agent_id = CASE WHEN k.scope_id = '*' THEN k.instance ELSE k.scope_id END
     END
GROUP BY ALL;

-- 3. spend before and after each charge, in store order
CREATE OR REPLACE TEMP TABLE budget_running AS
SELECT
    c.*, p.period_end,
    CASE WHEN c.period = 'total' THEN 'in total'
         ELSE format('for the {} of {}', c.period, strftime(c.period_start, '%Y-%m-%d')) END AS period_label,
    p.prior + sum(c.amount) OVER w - c.amount AS spent_before,
    p.prior + sum(c.amount) OVER w AS spent_after
FROM budget_charges AS c
JOIN budget_periods AS p USING (tenant, budget_id, control_event_id, instance, period_start)
WINDOW w AS (PARTITION BY c.tenant, c.budget_id, c.control_event_id, c.instance, c.period_start
             ORDER BY c.store_seq ROWS UNBOUNDED PRECEDING);

-- 4. actual spend: the charge that first reached each threshold
INSERT INTO alerts BY NAME
SELECT
    sha256(concat_ws('|', 'budget.threshold', r.tenant, r.budget_id, r.control_event_id, r.instance,
                     r.period_start, t.pct)) AS alert_id,
    r.store_seq, r.received_at AS raised_at, r.tenant, 'budget.threshold' AS kind,
    CASE WHEN t.pct >= 100 THEN 'critical' ELSE 'warning' END AS severity,
    format('Budget {} reached {}% of its {:.2f} {} limit {}: {:.2f} spent.',
           replace(r.budget_id, '*', r.instance), t.pct, r.limit_amount, r.currency, r.period_label,
           r.spent_after) AS summary,
    CASE WHEN r.instance = '' THEN r.scope_kind || ':' || r.scope_id ELSE 'agent:' || r.instance END AS scope,
    r.budget_id, r.period_start, t.pct AS threshold_pct, r.limit_amount, r.spent_after AS spent,
    NULL AS projected, r.currency,
    CASE WHEN t.pct >= 100 THEN r.on_exceed ELSE 'alert' END AS action,
    [r.event_id] AS evidence_event_ids
FROM budget_running AS r, unnest(r.thresholds) AS t(pct)
WHERE r.spent_before * 100 < r.limit_amount * t.pct
  AND r.spent_after * 100 >= r.limit_amount * t.pct
ON CONFLICT DO NOTHING;

-- 5. forecast: the first charge whose period-end projection (at the current rate) reaches the limit,
--    once at least a tenth of the period has passed (earlier projections are noise)
INSERT INTO alerts BY NAME
SELECT
    sha256(concat_ws('|', 'budget.forecast', r.tenant, r.budget_id, r.control_event_id, r.instance,
                     r.period_start)) AS alert_id,
    r.store_seq, r.received_at AS raised_at, r.tenant, 'budget.forecast' AS kind, 'warning' AS severity,
    format('Budget {} is on course to spend {:.2f} {} against its {:.2f} limit {}.',
           replace(r.budget_id, '*', r.instance), r.projected, r.currency, r.limit_amount,
           r.period_label) AS summary,
    CASE WHEN r.instance = '' THEN r.scope_kind || ':' || r.scope_id ELSE 'agent:' || r.instance END AS scope,
    r.budget_id, r.period_start, NULL AS threshold_pct, r.limit_amount, r.spent_after AS spent,
    r.projected, r.currency, 'alert' AS action, [r.event_id] AS evidence_event_ids
FROM (
    SELECT *,
           -- an estimate, so rounded to cents; the firing test above it stays exact
           CAST(round(CAST(spent_after AS DOUBLE) * period_us / elapsed_us, 2) AS DECIMAL(38, 9)) AS projected
    FROM (
        SELECT *,
               epoch_us(period_end) - epoch_us(period_start) AS period_us,
               greatest(epoch_us(occurred_at AT TIME ZONE 'UTC') - epoch_us(period_start), 1) AS elapsed_us
        FROM budget_running
        WHERE period <> 'total'
    )
) AS r
WHERE r.elapsed_us * 10 >= r.period_us
  AND r.spent_after < r.limit_amount
  AND r.spent_after * r.period_us >= r.limit_amount * r.elapsed_us
QUALIFY row_number() OVER (PARTITION BY r.tenant, r.budget_id, r.control_event_id, r.instance, r.period_start
                           ORDER BY r.store_seq) = 1
ON CONFLICT DO NOTHING;

DROP TABLE budget_charges;
DROP TABLE budget_periods;
DROP TABLE budget_running;
