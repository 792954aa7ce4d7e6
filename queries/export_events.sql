-- Stored events in store order after a position, for `agenttrail export` (every column but the raw bytes), a
-- person's sealed id and address as their value, or [erased] (schemas/sealing.py).
-- param after: int -- the last store_seq already exported; omitted means from the first event
-- param tenant: text -- tenant; omitted means every tenant
-- param since: timestamp -- earliest occurred_at, inclusive (30m, 2h, 7d or an ISO date)
-- param limit: int = 1000 -- maximum rows
WITH chunk AS (
    SELECT * EXCLUDE (raw)
    FROM events
    WHERE ($after::BIGINT IS NULL OR store_seq > $after::BIGINT)
      AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
      AND ($since::TIMESTAMPTZ IS NULL OR occurred_at >= $since::TIMESTAMPTZ)
    ORDER BY store_seq
    LIMIT $limit::BIGINT
)
SELECT * REPLACE (unseal(principal_id) AS principal_id, unseal_actors(actor_chain) AS actor_chain,
                  unseal(source_address) AS source_address)
FROM chunk
ORDER BY store_seq
