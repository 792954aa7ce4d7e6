-- Policy rule sets, newest first: in force, replaced, removed or rejected (with the line and reason), who
-- loaded each and the hash of its exact text.
-- param tenant: text -- tenant the set applies to ('*' for every tenant); omitted means all
-- param limit: int = 1000 -- maximum rows
SELECT valid_from AS loaded_at, tenant, name,
       CASE WHEN status = 'active' AND valid_to_seq IS NULL THEN 'in_force'
            WHEN status = 'active' THEN 'replaced' ELSE status END AS status,
       rules, loaded_by, reason, error, sha256, valid_to AS until, control_event_id
FROM policy_sets
WHERE ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
ORDER BY valid_from_seq DESC
LIMIT $limit::BIGINT
