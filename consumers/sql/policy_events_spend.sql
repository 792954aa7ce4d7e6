-- policy_events.agent_spend_day for the batch's charged events (batch_events); run only when there are any,
-- so a batch without cost (a leaked token's use) pays nothing for it.
-- It is spend_daily (which holds every charge up to its newest last_seq: live, in a rebuild and in a backtest
-- alike) less the same agent's charges on that day stored after the event and up to there. The later charges
-- are read from events after $first_seq (the batch's first, a constant), so live the scan is pruned to the batch.
UPDATE policy_events AS p
SET agent_spend_day = s.agent_spend_day
FROM (
    WITH charged AS (
        SELECT DISTINCT tenant, agent_id, CAST(make_timestamp(epoch_us(occurred_at)) AS DATE) AS day,
               cost_currency AS currency
        FROM batch_events
        WHERE cost_amount IS NOT NULL
    ),
    day_spend AS (
        SELECT k.tenant, k.agent_id, k.day, k.currency, sum(s.amount) AS amount
        FROM charged AS k
        JOIN spend_daily AS s USING (tenant, agent_id, day, currency)
        GROUP BY ALL
    ),
    later AS (
        SELECT store_seq, tenant, agent_id, CAST(make_timestamp(epoch_us(occurred_at)) AS DATE) AS day,
               cost_currency AS currency, cost_amount
        FROM events
        WHERE store_seq > $first_seq
          AND store_seq <= (SELECT max(last_seq) FROM spend_daily)
          AND cost_amount IS NOT NULL
    )
    SELECT e.event_id,
           CAST(d.amount - coalesce((SELECT sum(l.cost_amount) FROM later AS l
                                     WHERE l.tenant = e.tenant AND l.agent_id = e.agent_id
                                       AND l.currency = e.cost_currency AND l.day = d.day
                                       AND l.store_seq > e.store_seq), 0) AS DECIMAL(38, 9)) AS agent_spend_day
    FROM batch_events AS e
    JOIN day_spend AS d
      ON d.tenant = e.tenant AND d.agent_id = e.agent_id AND d.currency = e.cost_currency
     AND d.day = CAST(make_timestamp(epoch_us(e.occurred_at)) AS DATE)
    WHERE e.cost_amount IS NOT NULL
) AS s
WHERE p.event_id = s.event_id;
