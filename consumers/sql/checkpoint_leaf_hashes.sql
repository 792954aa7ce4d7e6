-- The recorded leaves of the checkpoints in [$first, $last], in tree order, as bytes.
SELECT checkpoint_id, leaf
FROM checkpoint_leaves
WHERE checkpoint_id BETWEEN $first AND $last
ORDER BY checkpoint_id, store_seq, event_id
