-- The parent links this batch makes possible: new events whose parent is stored, and waiting
-- events whose parent just arrived. Only within one tenant, never an event to itself.
-- parent_path is the parent's path before this batch's re-rooting (it starts at parent_root).
CREATE OR REPLACE TEMP TABLE chain_links AS
WITH candidates AS (
    SELECT event_id, tenant, parent_event_id FROM chain_batch WHERE parent_event_id IS NOT NULL
    UNION ALL
    SELECT w.event_id, w.tenant, w.parent_event_id
    FROM chain_pending AS w JOIN chain_batch AS b ON b.event_id = w.parent_event_id
)
SELECT c.event_id AS child, p.event_id AS parent, p.root_id AS parent_root, p.path AS parent_path
FROM candidates AS c
JOIN chain_nodes AS p ON p.event_id = c.parent_event_id AND p.tenant = c.tenant AND p.event_id <> c.event_id
