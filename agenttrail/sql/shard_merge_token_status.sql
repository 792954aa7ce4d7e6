-- token_status across shards: every shard answers one row, and the shard whose events carried the token (or
-- that revoked it before any event did) answers for it; a token no shard knows reads as the first shard says.
SELECT * EXCLUDE (shard, shard_row)
FROM shard_rows
ORDER BY known DESC, active ASC, shard
LIMIT 1
