-- Where the lineage acted from (blast_events): the agent's region and source address, first and last time.
SELECT agent_region, source_address, count(*) AS events, count(DISTINCT token_fingerprint) AS tokens,
       min(occurred_at) AS first, max(occurred_at) AS last
FROM blast_events
GROUP BY ALL
ORDER BY first, agent_region, source_address
