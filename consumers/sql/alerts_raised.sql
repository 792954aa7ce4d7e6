-- Alerts raised at store_seq $first_seq..$last_seq, for the outbox (raised_at as naive UTC: no pytz needed).
SELECT alert_id, raised_at AT TIME ZONE 'UTC' AS raised_at, tenant, kind, severity, summary, scope, action, evidence_event_ids,
       budget_id, threshold_pct, limit_amount, spent, projected, currency, top_agents, top_chains
FROM alerts
WHERE store_seq BETWEEN $first_seq AND $last_seq
ORDER BY store_seq, alert_id
