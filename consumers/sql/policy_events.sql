-- What a policy rule's `when` sees: one row per event of the batch (batch_events), with the state as of that
-- event in store order, so live evaluation, a rebuild and a backtest agree. Columns:
--   the event: store_seq, event_id, occurred_at, tenant, agent_id, agent_version, agent_region, principal_kind,
--     principal_id, root_agent_id (who started the delegation), delegation_depth (0 = acting directly),
--     action_type, action_name, phase, outcome, error_code, resource_kind, resource_id, resource_region,
--     data_region, token_fingerprint, parent_token_fingerprint, token_issuer, source_address, cost_amount,
--     cost_currency
--   flags: the kinds of anomaly flags raised on its agent or its token, at or before it, first seen in the
--     hour before it (e.g. ['token_origin', 'failure_burst'])
--   budget_pct: the highest budget threshold (percent) its agent's budgets had crossed, as of this event, in
--     alerts raised during the day before it (NULL when none)
--   agent_spend_day: its agent's spend on the event's UTC day (occurred_at) in the event's currency, this event
--     included, as of this event in store order (NULL when the event carries no cost)
--   token_revoked, agent_suspended: whether it was already stopped when it happened
--
-- agent_spend_day is spend_daily (which holds every charge up to its newest last_seq, live, in a rebuild and
-- in a backtest alike) less the same agent's charges on that day stored after the event and up to there; the
-- later charges are read from events after $first_seq (the batch's first), so live that scan is pruned to the batch.
CREATE OR REPLACE TEMP TABLE policy_events AS
WITH charged AS (
    SELECT DISTINCT tenant, agent_id, CAST(make_timestamp(epoch_us(occurred_at)) AS DATE) AS day,
           cost_currency AS currency
    FROM batch_events WHERE cost_amount IS NOT NULL
),
day_spend AS (
    SELECT k.tenant, k.agent_id, k.day, k.currency, sum(s.amount) AS amount
    FROM charged AS k
    JOIN spend_daily AS s USING (tenant, agent_id, day, currency)
    GROUP BY ALL
),
later AS (
    SELECT l.store_seq, l.tenant, l.agent_id, CAST(make_timestamp(epoch_us(l.occurred_at)) AS DATE) AS day,
           l.cost_currency AS currency, l.cost_amount
    FROM events AS l
    WHERE l.store_seq > $first_seq  -- the batch's first: a constant, so zone maps skip older row groups
      AND l.store_seq <= (SELECT max(last_seq) FROM spend_daily)
      AND l.cost_amount IS NOT NULL
),
spend_as_of AS (
    SELECT e.event_id,
           d.amount - coalesce((SELECT sum(l.cost_amount) FROM later AS l
                                WHERE l.tenant = e.tenant AND l.agent_id = e.agent_id AND l.currency = e.cost_currency
                                  AND l.day = CAST(make_timestamp(epoch_us(e.occurred_at)) AS DATE)
                                  AND l.store_seq > e.store_seq), 0) AS agent_spend_day
    FROM batch_events AS e
    JOIN day_spend AS d
      ON d.tenant = e.tenant AND d.agent_id = e.agent_id AND d.currency = e.cost_currency
     AND d.day = CAST(make_timestamp(epoch_us(e.occurred_at)) AS DATE)
    WHERE e.cost_amount IS NOT NULL
)
SELECT
    e.store_seq, e.event_id, e.received_at, e.occurred_at, e.tenant, e.agent_id, e.agent_version, e.agent_region,
    e.principal_kind, e.principal_id, coalesce(e.actor_chain[-1].id, e.agent_id) AS root_agent_id,
    greatest(len(e.actor_chain) - 1, 0) AS delegation_depth, e.action_type, e.action_name, e.phase, e.outcome,
    e.error_code, e.resource_kind, e.resource_id, e.resource_region, e.data_region, e.token_fingerprint,
    e.parent_token_fingerprint, e.token_issuer, e.source_address, e.cost_amount, e.cost_currency,
    coalesce((SELECT list(DISTINCT f.kind ORDER BY f.kind) FROM anomaly_flags AS f
              WHERE f.tenant = e.tenant AND f.raised_seq <= e.store_seq
                AND f.first_seen >= e.occurred_at - INTERVAL 1 HOUR
                AND (f.scope = 'agent:' || e.agent_id OR f.scope = 'token:' || e.token_fingerprint)),
             []::VARCHAR[]) AS flags,
    (SELECT max(a.threshold_pct) FROM alerts AS a
     WHERE a.tenant = e.tenant AND a.kind = 'budget.threshold' AND a.scope = 'agent:' || e.agent_id
       AND a.store_seq <= e.store_seq AND a.raised_at >= e.received_at - INTERVAL 1 DAY) AS budget_pct,
    EXISTS (SELECT 1 FROM enforcement AS x
            WHERE x.subject_kind = 'token' AND x.subject = e.token_fingerprint AND x.valid_from_seq < e.store_seq
              AND (x.valid_to_seq IS NULL OR x.valid_to_seq > e.store_seq)) AS token_revoked,
    EXISTS (SELECT 1 FROM enforcement AS x
            WHERE x.subject_kind = 'agent' AND x.subject = e.agent_id AND x.valid_from_seq < e.store_seq
              AND (x.valid_to_seq IS NULL OR x.valid_to_seq > e.store_seq)) AS agent_suspended,
    CAST(p.agent_spend_day AS DECIMAL(38, 9)) AS agent_spend_day
FROM batch_events AS e
LEFT JOIN spend_as_of AS p USING (event_id);
