-- Every retention run that removed events, newest first: per tenant, the period, the cutoff (events received before
-- it went), how many were removed, from which checkpoints, and who asked for the run and why.
-- param tenant: text -- tenant; omitted means every tenant
-- param limit: int = 1000 -- maximum rows
SELECT
    min(r.ran_at) AS ran_at,
    r.tenant,
    any_value(r.days) AS days,
    any_value(r.cutoff) AS cutoff,
    sum(r.removed)::BIGINT AS removed,
    list(r.checkpoint_id ORDER BY r.checkpoint_id) AS checkpoints,
    min(r.first_removed_seq) AS first_removed_seq,
    max(r.last_removed_seq) AS last_removed_seq,
    any_value(c.actor_kind || ':' || c.actor_id) AS asked_by,
    any_value(c.reason) AS reason,
    r.run_id
FROM retention_runs AS r
LEFT JOIN control_events AS c ON c.event_id = r.run_id
WHERE $tenant::VARCHAR IS NULL OR r.tenant = $tenant::VARCHAR
GROUP BY r.run_id, r.tenant
ORDER BY any_value(r.store_seq) DESC, r.tenant
LIMIT $limit::BIGINT
