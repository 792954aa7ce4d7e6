INSERT INTO checkpoint_leaves SELECT $checkpoint_id, store_seq, event_id, leaf FROM sealed_leaves
