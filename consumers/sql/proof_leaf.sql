-- Where one event sits in the checkpoints: its checkpoint, store_seq, recorded leaf and index in the tree.
SELECT l.checkpoint_id, l.store_seq, l.leaf,
       (SELECT count(*) FROM checkpoint_leaves AS o
        WHERE o.checkpoint_id = l.checkpoint_id
          AND (o.store_seq < l.store_seq OR (o.store_seq = l.store_seq AND o.event_id < l.event_id))) AS leaf_index
FROM checkpoint_leaves AS l
WHERE l.event_id = $event_id
