-- The whole operation chain around one event: its root, every ancestor and every descendant.
-- Read from the materialized chain_nodes table (two index lookups, no recursive walk); depth 0
-- is the root and rows are in tree order. parent_event_id is the parent the event is linked to:
-- a claimed parent in another tenant, or one that would close a cycle, is never linked.
-- A fail_closed action shows as one row: its started event folds into the completed one that
-- names it in attributes['started_event_id'] (phase started+completed, started_at from the
-- started event); a started event with no completed one yet shows as phase started, outcome pending.
-- param event_id: text required -- id of any event in the chain
-- param tenant: text -- only when the event belongs to this tenant (chains never cross tenants)
WITH members AS (
    SELECT
        n.depth, n.path, e.event_id, e.phase, e.occurred_at, e.duration_us, e.action_type, e.action_name,
        e.agent_id, e.agent_version, e.principal_kind, e.principal_id, e.outcome, e.error_code,
        e.cost_amount, e.cost_currency, e.input_tokens, e.output_tokens,
        CASE WHEN e.phase = 'completed' THEN e.attributes['started_event_id'] END AS started_id
    FROM chain_nodes AS n
    JOIN events AS e ON e.event_id = n.event_id
    WHERE n.root_id = (SELECT root_id FROM chain_nodes WHERE event_id = $event_id::VARCHAR
                                                       AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR))
),
actions AS (
    -- a completed event and the started event it names share one action key
    SELECT
        *,
        count(*) OVER action AS events_in_action,
        min(occurred_at - to_microseconds(coalesce(duration_us, 0))) OVER action AS action_started_at
    FROM members
    WINDOW action AS (PARTITION BY coalesce(started_id, event_id))
)
SELECT
    depth,
    event_id,
    path[-2] AS parent_event_id,
    CASE WHEN events_in_action > 1 THEN 'started+completed' ELSE phase END AS phase,
    action_started_at AS started_at,
    occurred_at,
    duration_us,
    action_type,
    action_name,
    agent_id,
    agent_version,
    principal_kind || ':' || unseal(principal_id) AS principal,
    outcome,
    error_code,
    cost_amount,
    cost_currency,
    input_tokens,
    output_tokens,
    event_id = $event_id::VARCHAR AS asked
FROM actions
WHERE NOT (phase = 'started' AND events_in_action > 1)
ORDER BY path
