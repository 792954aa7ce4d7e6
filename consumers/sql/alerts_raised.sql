-- Alerts raised at store_seq $first_seq..$last_seq, for the outbox (raised_at as naive UTC: no pytz needed):
-- budget alerts, and anomaly flags as alerts of kind anomaly.<detector>.
SELECT alert_id, raised_at AT TIME ZONE 'UTC' AS raised_at, tenant, kind, severity, summary, scope, action,
       evidence_event_ids, budget_id, threshold_pct, limit_amount, spent, projected, currency, top_agents, top_chains,
       NULL::DOUBLE AS score, NULL::VARCHAR AS agent_id, store_seq
FROM alerts
WHERE store_seq BETWEEN $first_seq AND $last_seq
UNION ALL
SELECT flag_id, raised_at AT TIME ZONE 'UTC', tenant, 'anomaly.' || kind, severity, summary, scope, 'alert',
       evidence_event_ids, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, round(score, 3), agent_id, raised_seq
FROM anomaly_flags
WHERE raised_seq BETWEEN $first_seq AND $last_seq
ORDER BY store_seq, alert_id
