-- Every (charge, budget version) pair of the batch (batch_events) for the versions in force anywhere in the
-- batch. A version counts every matching charge of the batch toward its period's spend (spend is spend,
-- whichever version was in force), but only raises alerts on charges stored while it was in force
-- (in_force). "agent:*" applies to agents without a budget of their own. Read by apply_budget_alerts.sql.
CREATE OR REPLACE TEMP TABLE budget_charges AS
WITH charges AS (
    SELECT * FROM batch_events WHERE cost_amount IS NOT NULL
)
SELECT
    b.tenant, b.budget_id, b.scope_kind, b.scope_id, b.model AS budget_model, b.control_event_id,
    CASE WHEN b.scope_kind = 'agent' AND b.scope_id = '*' THEN e.agent_id ELSE '' END AS instance,
    b.limit_amount, b.currency, b.period, b.thresholds, b.on_exceed,
    CASE b.period
        WHEN 'day' THEN date_trunc('day', make_timestamp(epoch_us(e.occurred_at)))
        WHEN 'week' THEN date_trunc('week', make_timestamp(epoch_us(e.occurred_at)))
        WHEN 'month' THEN date_trunc('month', make_timestamp(epoch_us(e.occurred_at)))
        ELSE TIMESTAMP '1970-01-01'
    END AS period_start,
    e.store_seq, e.event_id, e.occurred_at, e.received_at, e.cost_amount AS amount,
    e.store_seq > b.valid_from_seq AND (b.valid_to_seq IS NULL OR e.store_seq < b.valid_to_seq) AS in_force
FROM charges AS e
JOIN budgets AS b
  ON b.tenant = e.tenant
 AND b.valid_from_seq < (SELECT max(store_seq) FROM charges)
 AND (b.valid_to_seq IS NULL OR b.valid_to_seq > (SELECT min(store_seq) FROM charges))
 AND b.limit_amount IS NOT NULL
 AND b.currency = e.cost_currency
 AND (b.model IS NULL OR b.model = e.agent_model)
WHERE CASE b.scope_kind
        WHEN 'tenant' THEN true
        WHEN 'principal' THEN principal_in_scope(e.principal_id, b.scope_id)
        WHEN 'token' THEN e.token_fingerprint = b.scope_id
        WHEN 'agent' THEN e.agent_id = b.scope_id OR (b.scope_id = '*' AND NOT EXISTS (
            SELECT 1 FROM budgets AS own
            WHERE own.tenant = e.tenant AND own.scope_kind = 'agent' AND own.scope_id = e.agent_id
              AND own.limit_amount IS NOT NULL AND own.currency = e.cost_currency
              AND (own.model IS NULL OR own.model = e.agent_model)
              AND e.store_seq > own.valid_from_seq AND (own.valid_to_seq IS NULL OR e.store_seq < own.valid_to_seq)))
      END;
