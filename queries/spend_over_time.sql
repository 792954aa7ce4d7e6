-- Spend per hour or day and agent, exact, for the console's spend charts.
-- param tenant: text -- tenant; omitted means every tenant
-- param agent: text -- agent id
-- param principal: text -- on whose behalf, kind:id or id
-- param since: timestamp -- earliest occurred_at, inclusive (30m, 2h, 7d or an ISO date)
-- param until: timestamp -- latest occurred_at, exclusive
-- param bucket: text = day -- hour or day
SELECT
    date_trunc(CASE WHEN $bucket::VARCHAR = 'hour' THEN 'hour' ELSE 'day' END,
               make_timestamp(epoch_us(occurred_at))) AS bucket,
    tenant,
    agent_id,
    cost_currency AS currency,
    sum(cost_amount) AS spend,
    count(*) AS charged_events
FROM events
WHERE cost_amount IS NOT NULL
  AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
  AND ($agent::VARCHAR IS NULL OR agent_id = $agent::VARCHAR)
  AND ($principal::VARCHAR IS NULL OR principal_id = $principal::VARCHAR
       OR principal_kind || ':' || principal_id = $principal::VARCHAR
       OR list_contains(sealed_refs($principal::VARCHAR), principal_id))
  AND ($since::TIMESTAMPTZ IS NULL OR occurred_at >= $since::TIMESTAMPTZ)
  AND ($until::TIMESTAMPTZ IS NULL OR occurred_at < $until::TIMESTAMPTZ)
GROUP BY ALL
ORDER BY bucket, tenant, agent_id, currency
