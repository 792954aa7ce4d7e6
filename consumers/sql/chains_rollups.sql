-- Recompute each affected chain's rollup from its stored events. A fail_closed action's
-- started event is paired with the completed event naming it in attributes['started_event_id'].
INSERT INTO chain_rollups
WITH members AS (
    SELECT n.root_id, n.depth, e.*
    FROM chain_nodes AS n JOIN events AS e ON e.event_id = n.event_id
    WHERE n.root_id IN (SELECT root_id FROM chain_affected)
),
paired AS (
    SELECT DISTINCT attributes['started_event_id'] AS started_id
    FROM members WHERE phase = 'completed' AND attributes['started_event_id'] IS NOT NULL
),
flagged AS (
    SELECT m.*, (m.phase = 'started' AND p.started_id IS NOT NULL) AS is_paired
    FROM members AS m LEFT JOIN paired AS p ON p.started_id = m.event_id
),
costs AS (
    SELECT root_id, map_from_entries(list((cost_currency, amount) ORDER BY cost_currency)) AS cost
    FROM (
        SELECT root_id, cost_currency, sum(cost_amount) AS amount
        FROM members WHERE cost_amount IS NOT NULL
        GROUP BY root_id, cost_currency
    )
    GROUP BY root_id
),
totals AS (
    SELECT
        root_id,
        min(tenant) AS tenant,
        count(*) AS events,
        count(*) FILTER (WHERE NOT is_paired) AS actions,
        count(*) FILTER (WHERE phase = 'started' AND NOT is_paired) AS incomplete,
        count(*) FILTER (WHERE outcome = 'failure') AS failures,
        count(*) FILTER (WHERE outcome = 'denied') AS denied,
        max(depth) AS max_depth,
        min(occurred_at - to_microseconds(coalesce(duration_us, 0))) AS first_at,
        max(occurred_at) AS last_at,
        coalesce(sum(input_tokens), 0) AS input_tokens,
        coalesce(sum(output_tokens), 0) AS output_tokens,
        list_sort(list_distinct(flatten(list([agent_region, resource_region, data_region])))) AS regions,
        list_sort(list_distinct(list(agent_id || '@' || agent_version))) AS agent_versions
    FROM flagged
    GROUP BY root_id
)
SELECT
    t.root_id, t.tenant, t.events, t.actions, t.incomplete, t.failures, t.denied, t.max_depth,
    t.first_at, t.last_at, epoch_us(t.last_at) - epoch_us(t.first_at),
    coalesce(c.cost, MAP {}::MAP(VARCHAR, DECIMAL(38, 9))),
    t.input_tokens, t.output_tokens, t.regions, t.agent_versions
FROM totals AS t LEFT JOIN costs AS c USING (root_id)
