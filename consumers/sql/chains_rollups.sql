-- Store the merged rollups (chains_rollups_clear.sql removed the rows they replace).
INSERT INTO chain_rollups SELECT * FROM chain_merged
