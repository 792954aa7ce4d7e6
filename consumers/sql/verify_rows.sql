-- Name the rows that differ from what was sealed, inside the checkpoints $ids (whose rows no longer hash to
-- their signed root) and anywhere below the last checkpoint outside every checkpoint's range.
-- verify_leaves holds the recomputed leaves (consumers/leaves.py). deleted = sealed and gone;
-- inserted = never sealed; raw_changed = raw no longer hashes to event_hash; modified = columns changed.
WITH upto AS (SELECT coalesce(max(last_store_seq), 0) AS seq FROM checkpoints),
computed AS (
    SELECT r.store_seq, r.event_id, r.leaf, c.checkpoint_id
    FROM verify_leaves AS r
    LEFT JOIN checkpoints AS c ON r.store_seq BETWEEN c.first_store_seq AND c.last_store_seq
    WHERE r.store_seq <= (SELECT seq FROM upto)
),
suspect_rows AS (
    SELECT * FROM computed WHERE checkpoint_id IS NULL OR checkpoint_id IN (SELECT unnest($ids::BIGINT[]))
),
recorded AS (
    SELECT * FROM checkpoint_leaves WHERE checkpoint_id IN (SELECT unnest($ids::BIGINT[]))
),
changed AS (
    SELECT coalesce(r.store_seq, l.store_seq) AS store_seq, coalesce(r.event_id, l.event_id) AS event_id,
           coalesce(l.checkpoint_id, r.checkpoint_id) AS checkpoint_id,
           CASE WHEN r.store_seq IS NULL THEN 'deleted' WHEN l.store_seq IS NULL THEN 'inserted'
                ELSE 'modified' END AS change
    FROM suspect_rows AS r
    FULL OUTER JOIN recorded AS l ON r.store_seq = l.store_seq AND r.event_id = l.event_id
    WHERE r.store_seq IS NULL OR l.store_seq IS NULL OR r.leaf <> l.leaf
)
SELECT x.store_seq, x.event_id, x.checkpoint_id,
       CASE WHEN x.change = 'modified' AND sha256(e.raw) <> e.event_hash THEN 'raw_changed' ELSE x.change END
FROM changed AS x
LEFT JOIN events AS e ON e.store_seq = x.store_seq AND e.event_id = x.event_id
ORDER BY x.store_seq, x.event_id
