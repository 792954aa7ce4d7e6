-- The whole operation chain around one event: its root, every ancestor and every descendant.
-- Read from the materialized chain_nodes table (one lookup, no recursive walk); depth 0 is the
-- root and rows are in tree order. parent_event_id is the parent the event is linked to: a claimed
-- parent in another tenant, or one that would close a cycle, is never linked. A fail_closed action
-- shows as one row: its started event folds into the completed one (phase started+completed,
-- started_at from the started event); a started event with no completed one yet shows with
-- phase started and outcome pending.
-- param event_id: text required -- id of any event in the chain
WITH members AS (
    SELECT n.depth, n.path, e.*
    FROM chain_nodes AS n
    JOIN events AS e ON e.event_id = n.event_id
    WHERE n.root_id = (SELECT root_id FROM chain_nodes WHERE event_id = $event_id::VARCHAR)
),
started AS (
    SELECT event_id, occurred_at FROM members WHERE phase = 'started'
),
paired AS (
    SELECT attributes['started_event_id'] AS started_id FROM members
    WHERE phase = 'completed' AND attributes['started_event_id'] IS NOT NULL
)
SELECT
    m.depth,
    m.event_id,
    m.path[-2] AS parent_event_id,
    CASE WHEN s.event_id IS NOT NULL THEN 'started+completed' ELSE m.phase END AS phase,
    coalesce(s.occurred_at, m.occurred_at - to_microseconds(coalesce(m.duration_us, 0))) AS started_at,
    m.occurred_at,
    m.duration_us,
    m.action_type,
    m.action_name,
    m.agent_id,
    m.agent_version,
    m.principal_kind || ':' || m.principal_id AS principal,
    m.outcome,
    m.error_code,
    m.cost_amount,
    m.cost_currency,
    m.input_tokens,
    m.output_tokens,
    m.event_id = $event_id::VARCHAR AS asked
FROM members AS m
LEFT JOIN started AS s ON m.phase = 'completed' AND s.event_id = m.attributes['started_event_id']
WHERE m.event_id NOT IN (SELECT started_id FROM paired)
ORDER BY m.path
