-- erasures across shards: an erasure for every tenant (*) is applied by every shard, each destroying the keys it
-- holds, so its rows add up to one per erasure with every shard's count; a tenant's erasure is its owner's alone.
SELECT
    min(erased_at) AS erased_at,
    tenant,
    sum(keys_destroyed)::BIGINT AS keys_destroyed,
    any_value(asked_by) AS asked_by,
    any_value(reason) AS reason,
    any_value(subject_digest) AS subject_digest,
    event_id
FROM shard_rows
GROUP BY event_id, tenant
ORDER BY erased_at DESC, event_id
