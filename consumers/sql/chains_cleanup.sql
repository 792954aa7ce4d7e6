-- The per-batch scratch tables, dropped so no state survives between batches.
DROP TABLE IF EXISTS chain_links; DROP TABLE IF EXISTS chain_resolved; DROP TABLE IF EXISTS chain_fresh;
DROP TABLE IF EXISTS chain_affected; DROP TABLE IF EXISTS chain_merged
