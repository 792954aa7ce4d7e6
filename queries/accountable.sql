-- The human accountable for one event, and which rule found them.
-- Rule, first match wins: (1) principal: the event's principal, if human; (2) actor_chain: the
-- outermost human in its actor chain (who started the delegation); (3) chain_root: the principal of
-- its chain's root, if human; (4) chain_root_actor_chain: the outermost human in the root's actor
-- chain. When none is human, accountable_human is NULL and rule is none: a service or agent
-- principal answers for it, and its owner must be found outside the trail. A person's sealed id reads as its value,
-- or [erased] once erased (schemas/sealing.py).
-- param event_id: text required -- id of the event
-- param tenant: text -- only when the event belongs to this tenant
WITH target AS (
    SELECT e.*, n.root_id
    FROM events AS e LEFT JOIN chain_nodes AS n ON n.event_id = e.event_id
    WHERE e.event_id = $event_id::VARCHAR AND ($tenant::VARCHAR IS NULL OR e.tenant = $tenant::VARCHAR)
),
root AS (
    SELECT * FROM events WHERE event_id = (SELECT root_id FROM target)
),
found AS (
    SELECT 1 AS step, 'principal' AS rule, unseal(principal_id) AS human FROM target WHERE principal_kind = 'human'
    UNION ALL
    SELECT 2, 'actor_chain', unseal(list_filter(actor_chain, lambda a: a.kind = 'human')[-1].id) FROM target
    UNION ALL
    SELECT 3, 'chain_root', unseal(principal_id) FROM root WHERE principal_kind = 'human'
    UNION ALL
    SELECT 4, 'chain_root_actor_chain', unseal(list_filter(actor_chain, lambda a: a.kind = 'human')[-1].id) FROM root
),
first_found AS (
    SELECT rule, human FROM found WHERE human IS NOT NULL ORDER BY step LIMIT 1
)
SELECT
    t.event_id,
    t.tenant,
    f.human AS accountable_human,
    coalesce(f.rule, 'none') AS rule,
    t.principal_kind || ':' || unseal(t.principal_id) AS principal,
    array_to_string(list_reverse(list_transform(unseal_actors(t.actor_chain), lambda a: a.kind || ':' || a.id)), ' → ')
        AS actor_path,
    t.agent_id,
    t.root_id,
    (SELECT principal_kind || ':' || unseal(principal_id) FROM root) AS root_principal
FROM target AS t
LEFT JOIN first_found AS f ON true
