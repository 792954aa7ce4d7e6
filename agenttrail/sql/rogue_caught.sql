-- What the demo's rogue agent has raised since store_seq $after: its anomaly flags' kinds, and its budget alerts.
SELECT
    (SELECT coalesce(list(DISTINCT kind ORDER BY kind), []) FROM anomaly_flags
     WHERE tenant = $tenant AND agent_id = $agent AND raised_seq > $after) AS flag_kinds,
    (SELECT count(*) FROM alerts WHERE tenant = $tenant AND scope = 'agent:' || $agent AND store_seq > $after)
        AS budget_alerts
