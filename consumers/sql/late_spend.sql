-- Flag the batch's spend (batch_events) whose UTC day had closed more than five minutes before it arrived.
INSERT INTO late_spend BY NAME
SELECT event_id, store_seq, tenant, agent_id, CAST(make_timestamp(epoch_us(occurred_at)) AS DATE) AS day,
       cost_amount AS amount, cost_currency AS currency, occurred_at, received_at
FROM batch_events
WHERE cost_amount IS NOT NULL
  AND epoch_us(received_at) // 86400000000 > epoch_us(occurred_at) // 86400000000
  AND epoch_us(received_at) - epoch_us(occurred_at) > 300000000;  -- five minutes
