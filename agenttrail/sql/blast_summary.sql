-- The blast radius in one row (blast_events, blast_tokens): how much the lineage did, from where, for whom, and
-- the first and last use in the window.
SELECT
    (SELECT count(*) FROM blast_tokens) AS tokens,
    (SELECT count(*) FROM blast_tokens WHERE status IS NULL) AS tokens_active,
    count(*) AS events,
    count(*) FILTER (WHERE outcome = 'failure') AS failures,
    count(*) FILTER (WHERE outcome = 'denied') AS denied,
    count(*) FILTER (WHERE after_revocation) AS used_after_revocation,
    min(occurred_at) AS first_use,
    max(occurred_at) AS last_use,
    count(DISTINCT agent_id) AS agents,
    count(DISTINCT principal_id) AS principals,
    count(DISTINCT trace_id) AS chains,
    count(DISTINCT agent_region) AS regions,
    count(DISTINCT source_address) AS source_addresses
FROM blast_events
