-- For each linked child (a root until now), the path its subtree hangs under once every link of
-- this batch is made. A parent whose own root is linked too takes that root's prefix first, so
-- links made in any order within the batch give one answer. Links that close a cycle never
-- reach a root that stays a root, so they are left out here (chains.py breaks those cycles).
CREATE OR REPLACE TEMP TABLE chain_resolved AS
WITH RECURSIVE resolved(child, waiting, prefix) AS (
    SELECT child, waiting, parent_path
    FROM chain_links
    WHERE parent_root NOT IN (SELECT child FROM chain_links)
    UNION ALL
    SELECT l.child, l.waiting, r.prefix || l.parent_path
    FROM chain_links AS l JOIN resolved AS r ON l.parent_root = r.child
)
SELECT child, waiting, prefix FROM resolved
