-- The governance trail: every change made through the control topic, newest first (reads: access_log).
-- param tenant: text -- tenant; omitted means every tenant
-- param kind: text -- change kind, e.g. tenant.regions.set; omitted means every kind but access.read
-- param since: timestamp -- earliest occurred_at, inclusive (30m, 2h, 7d or an ISO date)
-- param limit: int = 1000 -- maximum rows
SELECT
    occurred_at,
    tenant,
    kind,
    actor_kind || ':' || actor_id AS actor,
    via,
    reason,
    payload,
    event_id
FROM control_events
WHERE ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
  AND (($kind::VARCHAR IS NULL AND kind <> 'access.read') OR kind = $kind::VARCHAR)
  AND ($since::TIMESTAMPTZ IS NULL OR occurred_at >= $since::TIMESTAMPTZ)
ORDER BY store_seq DESC
LIMIT $limit::BIGINT
