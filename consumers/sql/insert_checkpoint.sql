INSERT INTO checkpoints VALUES ($checkpoint_id, $first_store_seq, $last_store_seq, $tree_size, $root,
    $prev_digest, $leaf_version, $sealed_at, $key_id, $digest, $signature)
