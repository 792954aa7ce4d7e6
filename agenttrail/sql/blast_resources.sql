-- What the lineage touched (blast_events): each resource with the action types on it, those a sensitive action
-- ($sensitive_actions: buying, registering, issuing tokens, deploying) touched first: what an attacker keeps
-- or someone pays for.
SELECT resource_kind, resource_id, resource_region, list(DISTINCT action_type ORDER BY action_type) AS actions,
       bool_or(list_contains($sensitive_actions::VARCHAR[], action_type)) AS sensitive, count(*) AS events,
       count(*) FILTER (WHERE outcome = 'success') AS succeeded, min(occurred_at) AS first, max(occurred_at) AS last
FROM blast_events
WHERE resource_id IS NOT NULL
GROUP BY ALL
ORDER BY sensitive DESC, first, resource_kind, resource_id
