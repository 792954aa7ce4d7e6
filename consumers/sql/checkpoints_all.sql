-- Every checkpoint, in chain order (columns in agenttrail.checkpoint.Checkpoint's field order).
SELECT checkpoint_id, first_store_seq, last_store_seq, tree_size, root, prev_digest, leaf_version, sealed_at,
       key_id, digest, signature
FROM checkpoints
ORDER BY checkpoint_id
