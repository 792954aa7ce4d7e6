-- What each agent spent, per tenant and currency, as exact decimals (never rounded to float).
-- param tenant: text -- tenant; omitted means every tenant
-- param since: timestamp -- earliest occurred_at, inclusive (30m, 2h, 7d or an ISO date)
-- param until: timestamp -- latest occurred_at, exclusive (30m, 2h, 7d or an ISO date)
SELECT
    tenant,
    agent_id,
    cost_currency AS currency,
    sum(cost_amount) AS spend,
    count(*) AS charged_events
FROM events
WHERE cost_amount IS NOT NULL
  AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
  AND ($since::TIMESTAMPTZ IS NULL OR occurred_at >= $since::TIMESTAMPTZ)
  AND ($until::TIMESTAMPTZ IS NULL OR occurred_at < $until::TIMESTAMPTZ)
GROUP BY tenant, agent_id, cost_currency
ORDER BY currency, spend DESC, tenant, agent_id
