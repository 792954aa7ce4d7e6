-- The batch's events with their final positions (under the prefix their link resolved to, or as
-- one-node chains: no parent yet, or a link closing a cycle, which chains.py breaks afterwards),
-- and what the rollups need of each.
CREATE OR REPLACE TEMP TABLE chain_fresh AS
SELECT
    b.event_id, b.tenant, b.parent_event_id,
    coalesce(r.prefix[1], b.event_id) AS root_id,
    coalesce(len(r.prefix), 0) AS depth,
    coalesce(r.prefix, []) || [b.event_id] AS path,
    b.phase, b.outcome, b.occurred_at, b.duration_us, b.cost_amount, b.cost_currency,
    b.input_tokens, b.output_tokens, b.agent_id, b.agent_version,
    b.agent_region, b.resource_region, b.data_region, b.attributes['started_event_id'] AS started_id
FROM chain_batch AS b LEFT JOIN chain_resolved AS r ON r.child = b.event_id
