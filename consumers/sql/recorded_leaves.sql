-- Every recorded leaf, in tree order across checkpoints (store_seq, event_id), with its checkpoint.
SELECT store_seq, event_id, leaf, checkpoint_id FROM checkpoint_leaves ORDER BY store_seq, event_id
