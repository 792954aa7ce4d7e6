-- The chains this batch changed: every chain now holding one of its events (a moved subtree
-- always holds one, because a link needs its child or its parent to be new).
CREATE OR REPLACE TEMP TABLE chain_affected AS
SELECT DISTINCT root_id FROM chain_fresh
