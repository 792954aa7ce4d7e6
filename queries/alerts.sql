-- Alerts raised on the stream (budget thresholds and forecasts), newest first, with who spent it.
-- param tenant: text -- tenant; omitted means every tenant
-- param kind: text -- alert kind, e.g. budget.threshold or budget.forecast
-- param since: timestamp -- earliest raised_at, inclusive (30m, 2h, 7d or an ISO date)
-- param limit: int = 1000 -- maximum rows
SELECT
    raised_at,
    tenant,
    kind,
    severity,
    summary,
    action,
    scope,
    spent,
    "limit_amount" AS "limit",
    currency,
    list_transform(top_agents, lambda a: a.agent_id || ' ' || a.spent) AS top_agents,
    list_transform(top_chains, lambda c: c.trace_id || ' ' || c.spent) AS top_chains,
    evidence_event_ids,
    alert_id
FROM alerts
WHERE ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
  AND ($kind::VARCHAR IS NULL OR kind = $kind::VARCHAR)
  AND ($since::TIMESTAMPTZ IS NULL OR raised_at >= $since::TIMESTAMPTZ)
ORDER BY store_seq DESC, alert_id
LIMIT $limit::BIGINT
