-- governance_summary across shards: each count is the sum of the shards' counts (signed checkpoints are each
-- shard's own, over its own store order), in the order one store lists them.
SELECT what, sum(count)::BIGINT AS count
FROM shard_rows
GROUP BY what
ORDER BY min(shard_row)
