-- Add the batch's charged events (batch_events) to spend_daily.
INSERT INTO spend_daily BY NAME
SELECT
    tenant,
    CAST(make_timestamp(epoch_us(occurred_at)) AS DATE) AS day,
    agent_id,
    principal_id,
    coalesce(token_fingerprint, '') AS token_fingerprint,
    coalesce(agent_model, '') AS model,
    cost_currency AS currency,
    sum(cost_amount) AS amount,
    count(*) AS charged_events,
    max(store_seq) AS last_seq
FROM batch_events
WHERE cost_amount IS NOT NULL
GROUP BY ALL
ON CONFLICT DO UPDATE SET
    amount = spend_daily.amount + excluded.amount,
    charged_events = spend_daily.charged_events + excluded.charged_events,
    last_seq = greatest(spend_daily.last_seq, excluded.last_seq);
