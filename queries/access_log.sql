-- The trail of the trail: every read of stored trail data through the server, newest first.
-- param actor: text -- who read, e.g. service:token-acme-analyst, service:token-admin or service:anonymous
-- param since: timestamp -- earliest read, inclusive (30m, 2h, 7d or an ISO date)
-- param limit: int = 1000 -- maximum rows
SELECT
    occurred_at,
    actor_kind || ':' || actor_id AS actor,
    json_extract_string(payload, '$.method') AS method,
    json_extract_string(payload, '$.path') AS path,
    json_extract(payload, '$.params')::VARCHAR AS params,
    tenant,
    CAST(json_extract_string(payload, '$.status') AS INTEGER) AS status,
    CAST(json_extract_string(payload, '$.rows') AS BIGINT) AS rows,
    json_extract_string(payload, '$.client') AS client,
    event_id
FROM control_events
WHERE kind = 'access.read'
  AND ($actor::VARCHAR IS NULL OR actor_kind || ':' || actor_id = $actor::VARCHAR)
  AND ($since::TIMESTAMPTZ IS NULL OR occurred_at >= $since::TIMESTAMPTZ)
ORDER BY store_seq DESC
LIMIT $limit::BIGINT
