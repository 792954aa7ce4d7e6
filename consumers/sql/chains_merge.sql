-- The new rollup of every chain holding one of the batch's events (a moved subtree always holds
-- one, because a link needs its child or its parent to be new), without re-reading its older
-- events: the old rollups of the chain and of the subtrees that moved under it (their depths
-- shifted by the prefix), plus the batch's events. Every column is a sum, min, max or set union, so folding in any
-- order gives the same row. A fail_closed completed event names its started one
-- (attributes['started_event_id']): the pair counts as one action, and incomplete counts
-- started events minus completed events naming one.
CREATE OR REPLACE TEMP TABLE chain_merged AS
WITH moved AS (
    SELECT coalesce(r.prefix[1], o.root_id) AS new_root, coalesce(len(r.prefix), 0) AS shift, o.*
    FROM chain_rollups AS o
    LEFT JOIN chain_resolved AS r ON r.child = o.root_id AND r.waiting
    WHERE o.root_id IN (SELECT root_id FROM chain_fresh UNION ALL SELECT child FROM chain_resolved WHERE waiting)
),
parts AS (
    SELECT
        new_root AS root_id, tenant, events, actions, incomplete, failures, denied, max_depth + shift AS max_depth,
        first_at, last_at, input_tokens, output_tokens, regions, agent_versions
    FROM moved
    UNION ALL
    SELECT
        root_id, tenant, 1, 1 - (started_id IS NOT NULL AND phase = 'completed')::INT,
        (phase = 'started')::INT - (started_id IS NOT NULL AND phase = 'completed')::INT,
        (outcome = 'failure')::INT, (outcome = 'denied')::INT, depth,
        occurred_at - to_microseconds(coalesce(duration_us, 0)), occurred_at,
        coalesce(input_tokens, 0), coalesce(output_tokens, 0),
        [agent_region, resource_region, data_region],  -- list_distinct below drops the NULLs
        [agent_id || '@' || agent_version]
    FROM chain_fresh
),
costs AS (
    SELECT root_id, map_from_entries(list_sort(list((currency, amount)))) AS cost
    FROM (
        SELECT root_id, currency, sum(amount) AS amount
        FROM (
            SELECT new_root AS root_id, unnest(map_keys(cost)) AS currency, unnest(map_values(cost)) AS amount
            FROM moved
            UNION ALL
            SELECT root_id, cost_currency, cost_amount FROM chain_fresh WHERE cost_amount IS NOT NULL
        )
        GROUP BY root_id, currency
    )
    GROUP BY root_id
),
totals AS (
    SELECT
        root_id, min(tenant) AS tenant, sum(events) AS events, sum(actions) AS actions,
        sum(incomplete) AS incomplete, sum(failures) AS failures, sum(denied) AS denied,
        max(max_depth) AS max_depth, min(first_at) AS first_at, max(last_at) AS last_at,
        sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
        list_sort(list_distinct(flatten(list(regions)))) AS regions,
        list_sort(list_distinct(flatten(list(agent_versions)))) AS agent_versions
    FROM parts
    GROUP BY root_id
)
SELECT
    t.root_id, t.tenant, t.events, t.actions, t.incomplete, t.failures, t.denied, t.max_depth,
    t.first_at, t.last_at, epoch_us(t.last_at) - epoch_us(t.first_at) AS duration_us,
    coalesce(c.cost, MAP {}::MAP(VARCHAR, DECIMAL(38, 9))) AS cost,
    t.input_tokens, t.output_tokens, t.regions, t.agent_versions
FROM totals AS t LEFT JOIN costs AS c USING (root_id)
