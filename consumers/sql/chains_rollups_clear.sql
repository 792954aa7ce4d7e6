-- Drop the rollups about to be recomputed, and those of roots that became inner nodes.
DELETE FROM chain_rollups
WHERE root_id IN (SELECT root_id FROM chain_merged UNION ALL SELECT child FROM chain_links)
