-- Actions attempted with a token while it was revoked, or by an agent while it was suspended (stored, never
-- dropped: the guard's refusals and the uses by clients that do not run the guard alike), newest first.
-- param tenant: text -- tenant; omitted means every tenant
-- param since: timestamp -- earliest occurred_at, inclusive (30m, 2h, 7d or an ISO date)
-- param limit: int = 1000 -- maximum rows
SELECT
    e.occurred_at,
    e.tenant,
    e.agent_id,
    e.action_type,
    e.outcome,
    e.error_code,
    e.token_fingerprint,
    x.subject_kind || ':' || x.subject AS stopped,
    x.status,
    x.valid_from AS stopped_at,
    x.reason,
    x.cause_event_id AS revoked_by_event_id,
    unseal(e.source_address) AS source_address,
    e.event_id
FROM events AS e
JOIN enforcement AS x
  ON ((x.subject_kind = 'token' AND x.subject = e.token_fingerprint)
      OR (x.subject_kind = 'agent' AND x.subject = e.agent_id))
 AND x.valid_from_seq < e.store_seq AND (x.valid_to_seq IS NULL OR x.valid_to_seq > e.store_seq)
WHERE ($tenant::VARCHAR IS NULL OR e.tenant = $tenant::VARCHAR)
  AND ($since::TIMESTAMPTZ IS NULL OR e.occurred_at >= $since::TIMESTAMPTZ)
ORDER BY e.store_seq DESC, x.subject_kind
LIMIT $limit::BIGINT
