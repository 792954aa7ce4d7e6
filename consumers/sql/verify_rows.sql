-- Rows that differ from what was sealed: recomputed leaves (verify_leaves, from leaf_rows.sql) against the
-- recorded ones. deleted = sealed and gone; inserted = inside the sealed range but never sealed;
-- raw_changed = raw no longer hashes to event_hash (sealed or not); modified = the row's columns changed.
WITH sealed AS (SELECT coalesce(max(last_store_seq), 0) AS upto FROM checkpoints),
changed AS (
    SELECT coalesce(r.store_seq, l.store_seq) AS store_seq, coalesce(r.event_id, l.event_id) AS event_id,
           l.checkpoint_id,
           CASE WHEN r.store_seq IS NULL THEN 'deleted'
                WHEN NOT r.raw_ok THEN 'raw_changed'
                WHEN l.store_seq IS NULL THEN 'inserted'
                ELSE 'modified' END AS change
    FROM verify_leaves AS r
    FULL OUTER JOIN checkpoint_leaves AS l ON r.store_seq = l.store_seq AND r.event_id = l.event_id
    WHERE r.store_seq IS NULL
       OR NOT r.raw_ok
       OR (l.store_seq IS NULL AND r.store_seq <= (SELECT upto FROM sealed))
       OR r.leaf <> l.leaf
)
SELECT x.store_seq, x.event_id, coalesce(x.checkpoint_id, c.checkpoint_id) AS checkpoint_id, x.change
FROM changed AS x
LEFT JOIN checkpoints AS c ON x.store_seq BETWEEN c.first_store_seq AND c.last_store_seq
ORDER BY x.store_seq, x.event_id
