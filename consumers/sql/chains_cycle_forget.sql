-- The old rollups of a broken cycle's former roots: chains_cycle_fresh.sql folds all their
-- events in afresh, so chains_merge.sql must not fold these rows in as well.
DELETE FROM chain_rollups WHERE root_id IN (SELECT unnest($children::VARCHAR[]))
