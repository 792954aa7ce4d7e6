-- Every agent acting for one principal, directly or through delegation, with counts, spend and tokens.
-- An event counts when the principal is its principal (given as kind:id or id) or appears in its
-- actor chain (RFC 8693 act: a delegator). actor_path runs from the outermost delegator to the agent
-- that acted; a sub-agent shows up once per delegation path. credentials are the distinct token ids
-- (else fingerprints) used; spend is exact, per currency. A person's sealed id (schemas/sealing.py) is found by its
-- value while their keys live, and reads as its value in actor_path.
-- param principal: text required -- e.g. human:alice@acme.example, or just alice@acme.example
-- param tenant: text -- tenant; omitted means every tenant
WITH acting AS (
    SELECT *, list_reverse(list_transform(actor_chain, lambda a: a.id)) AS actor_ids
    FROM events
    WHERE ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
      AND (principal_id = $principal::VARCHAR
           OR principal_kind || ':' || principal_id = $principal::VARCHAR
           OR list_contains(list_transform(actor_chain, lambda a: a.id), $principal::VARCHAR)
           OR list_contains(list_transform(actor_chain, lambda a: a.kind || ':' || a.id), $principal::VARCHAR)
           OR list_has_any(list_append(list_transform(actor_chain, lambda a: a.id), principal_id),
                           sealed_refs($principal::VARCHAR)))
),
spend AS (
    SELECT tenant, agent_id, actor_ids, map_from_entries(list((currency, amount) ORDER BY currency)) AS spend
    FROM (
        SELECT tenant, agent_id, actor_ids, cost_currency AS currency, sum(cost_amount) AS amount
        FROM acting WHERE cost_amount IS NOT NULL
        GROUP BY ALL
    )
    GROUP BY ALL
),
paths AS (
    SELECT
        a.tenant,
        a.agent_id,
        a.actor_ids,
        len(any_value(a.actor_chain)) - 1 AS delegation_depth,
        list_sort(list_distinct(list(a.agent_version))) AS versions,
        count(*) AS events,
        count(*) FILTER (WHERE a.outcome = 'failure') AS failures,
        coalesce(any_value(s.spend), MAP {}::MAP(VARCHAR, DECIMAL(38, 9))) AS spend,
        coalesce(sum(a.input_tokens), 0)::BIGINT AS input_tokens,
        coalesce(sum(a.output_tokens), 0)::BIGINT AS output_tokens,
        list_sort(list_distinct(list(coalesce(a.token_id, a.token_fingerprint)))) AS credentials,
        min(a.occurred_at) AS first_occurred_at,
        max(a.occurred_at) AS last_occurred_at
    FROM acting AS a
    LEFT JOIN spend AS s USING (tenant, agent_id, actor_ids)
    GROUP BY a.tenant, a.agent_id, a.actor_ids
)
SELECT
    tenant,
    agent_id,
    array_to_string(unseal_ids(actor_ids), ' → ') AS actor_path,  -- once per path, not per event
    delegation_depth,
    versions,
    events,
    failures,
    spend,
    input_tokens,
    output_tokens,
    credentials,
    first_occurred_at,
    last_occurred_at
FROM paths
ORDER BY tenant, delegation_depth, events DESC, agent_id, actor_path
