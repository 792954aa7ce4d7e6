-- The recorded leaves of one checkpoint, in tree order.
SELECT leaf FROM checkpoint_leaves WHERE checkpoint_id = $checkpoint_id ORDER BY store_seq, event_id
