-- Who delegated to whom: each adjacent pair in an event's actor chain, counted.
-- The actor chain lists the current actor first, then who delegated to it, so element i+1
-- delegated to element i. Only events acted through more than one actor appear.
-- param tenant: text -- tenant; omitted means every tenant
-- param agent: text -- only pairs with this agent (or principal id) on either side
WITH pairs AS (
    SELECT
        e.tenant,
        e.actor_chain[hop.i + 1].kind AS delegator_kind,
        e.actor_chain[hop.i + 1].id AS delegator_id,
        e.actor_chain[hop.i].kind AS delegate_kind,
        e.actor_chain[hop.i].id AS delegate_id,
        count(*) AS events,
        min(e.occurred_at) AS first_occurred_at,
        max(e.occurred_at) AS last_occurred_at
    FROM events AS e, range(1, len(e.actor_chain)) AS hop(i)
    WHERE len(e.actor_chain) > 1
      AND ($tenant::VARCHAR IS NULL OR e.tenant = $tenant::VARCHAR)
      AND ($agent::VARCHAR IS NULL OR e.actor_chain[hop.i].id = $agent::VARCHAR
           OR e.actor_chain[hop.i + 1].id = $agent::VARCHAR)
    GROUP BY ALL
)
SELECT tenant, delegator_kind, unseal(delegator_id) AS delegator_id, delegate_kind, unseal(delegate_id) AS delegate_id,
       events, first_occurred_at, last_occurred_at
FROM pairs
ORDER BY events DESC, tenant, delegator_id, delegate_id
