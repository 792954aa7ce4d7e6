-- Every erasure applied (agenttrail erase), newest first: who asked and why, when, which tenant (* every one), and
-- how many of the person's keys it destroyed. The person is named by their digest only, never their id.
-- param tenant: text -- tenant (erasures across every tenant are listed too); omitted means every tenant
-- param limit: int = 1000 -- maximum rows
SELECT
    e.erased_at,
    e.tenant,
    e.keys_destroyed,
    c.actor_kind || ':' || c.actor_id AS asked_by,
    c.reason,
    e.subject_digest,
    e.event_id
FROM erasures AS e
LEFT JOIN control_events AS c USING (event_id)
WHERE $tenant::VARCHAR IS NULL OR e.tenant IN ($tenant::VARCHAR, '*')
ORDER BY e.store_seq DESC
LIMIT $limit::BIGINT
