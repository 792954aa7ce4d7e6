-- The chains this batch changed: every chain holding one of its events (a re-rooted subtree
-- always holds one, because a link needs its child or its parent to be new).
CREATE OR REPLACE TEMP TABLE chain_affected AS
SELECT DISTINCT n.root_id
FROM chain_nodes AS n SEMI JOIN chain_batch AS b ON n.event_id = b.event_id
