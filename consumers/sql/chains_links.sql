-- The parent links this batch makes possible: new events whose parent is stored or in the batch,
-- and waiting events whose parent just arrived. Only within one tenant, never an event to itself.
-- parent_root and parent_path are the parent's position before this batch (a new parent is a
-- one-node chain); waiting marks a child stored by an earlier batch, whose subtree must move.
CREATE OR REPLACE TEMP TABLE chain_links AS
WITH candidates AS (
    SELECT event_id, tenant, parent_event_id, false AS waiting
    FROM chain_batch WHERE parent_event_id IS NOT NULL
    UNION ALL
    SELECT w.event_id, w.tenant, w.parent_event_id, true
    FROM chain_pending AS w JOIN chain_batch AS b ON b.event_id = w.parent_event_id
)
SELECT c.event_id AS child, c.waiting, p.event_id AS parent, p.root_id AS parent_root, p.path AS parent_path
FROM candidates AS c
JOIN chain_nodes AS p ON p.event_id = c.parent_event_id AND p.tenant = c.tenant
UNION ALL
SELECT c.event_id, c.waiting, p.event_id, p.event_id, [p.event_id]
FROM candidates AS c
JOIN chain_batch AS p ON p.event_id = c.parent_event_id AND p.tenant = c.tenant AND p.event_id <> c.event_id
