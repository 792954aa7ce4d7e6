-- What the console's screenshots show: an event deep in a chain, a delegated token, a principal behind delegation.
SELECT
    (SELECT event_id FROM chain_nodes WHERE depth = 3 ORDER BY event_id LIMIT 1) AS event_id,
    (SELECT fingerprint FROM token_lineage WHERE parent_fingerprint IS NOT NULL ORDER BY first_seq DESC LIMIT 1)
        AS fingerprint,
    (SELECT principal_kind || ':' || unseal(principal_id) FROM events WHERE len(actor_chain) > 2
     ORDER BY store_seq LIMIT 1) AS principal
