-- The events of a tenant one importer stored, in a time range: what an import asks before it emits, so
-- importing a file again adds nothing (importers name their streams <source>/<tenant>/...).
-- param tenant: text required
-- param source: text required -- the importer: cloudtrail
-- param since: timestamp -- earliest occurred_at, e.g. 7d or 2026-11-01
-- param until: timestamp -- latest occurred_at
SELECT event_id, occurred_at, agent_id, action_type, action_name, outcome
FROM events
WHERE tenant = $tenant AND starts_with(stream_id, $source || '/')
  AND ($since IS NULL OR occurred_at >= $since) AND ($until IS NULL OR occurred_at <= $until)
ORDER BY occurred_at
