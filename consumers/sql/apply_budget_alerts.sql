-- Budget alerts for the batch's charges (budget_charges, from budget_charges.sql), before spend_daily
-- includes them. Spend is the period's spend before the batch plus a running sum in store order, so the
-- charge that crossed a threshold is the same whatever the batch boundaries (replay equals live).
-- Alert ids make each alert fire once.

-- 1. each (budget, instance, period)'s spend before this batch, from spend_daily
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
        WHEN 'principal' THEN principal_in_scope(s.principal_id, k.scope_id)
        WHEN 'token' THEN s.token_fingerprint = k.scope_id
        WHEN 'agent' THEN s.agent_id = CASE WHEN k.scope_id = '*' THEN k.instance ELSE k.scope_id END
     END
GROUP BY ALL;

-- 2. spend before and after each charge, in store order
CREATE OR REPLACE TEMP TABLE budget_running AS
SELECT
    c.*, p.period_end,
    CASE WHEN c.period = 'total' THEN 'in total'
         ELSE format('for the {} of {}', c.period, strftime(c.period_start, '%Y-%m-%d')) END AS period_label,
    p.prior + sum(c.amount) OVER w AS spent_after
FROM budget_charges AS c
JOIN budget_periods AS p USING (tenant, budget_id, control_event_id, instance, period_start)
WINDOW w AS (PARTITION BY c.tenant, c.budget_id, c.control_event_id, c.instance, c.period_start
             ORDER BY c.store_seq ROWS UNBOUNDED PRECEDING);

-- 3. actual spend: the first charge at or over each threshold (a fired alert's id is taken, so later
--    batches add nothing; a new budget version set below the spend so far fires on its first charge)
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
WHERE r.in_force AND r.spent_after * 100 >= r.limit_amount * t.pct
QUALIFY row_number() OVER (PARTITION BY r.tenant, r.budget_id, r.control_event_id, r.instance, r.period_start, t.pct
                           ORDER BY r.store_seq) = 1
ON CONFLICT DO NOTHING;

-- 4. forecast: the first charge whose period-end projection (at the current rate) reaches the limit,
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
               greatest(epoch_us(occurred_at) - epoch_us(period_start), 1) AS elapsed_us
        FROM budget_running
        WHERE period <> 'total'
    )
) AS r
WHERE r.in_force
  AND r.elapsed_us * 10 >= r.period_us
  AND r.spent_after < r.limit_amount
  -- in DOUBLE: a forecast is an estimate, and DECIMAL products of money and microseconds overflow
  AND CAST(r.spent_after AS DOUBLE) * r.period_us >= CAST(r.limit_amount AS DOUBLE) * r.elapsed_us
QUALIFY row_number() OVER (PARTITION BY r.tenant, r.budget_id, r.control_event_id, r.instance, r.period_start
                           ORDER BY r.store_seq) = 1
ON CONFLICT DO NOTHING;
