-- Schema version 3 -> 4: the token lineage records where each token's parent was first named (parent_seq,
-- parent_event_id, parent_received), so a revocation reaches a token through its parent only from there on.
-- Filled from the stored events; the enforcement history already stored is kept as it is (run `agenttrail
-- rebuild` to recompute it, should a token's parent have been named after the token was first seen).
ALTER TABLE token_lineage ADD COLUMN IF NOT EXISTS parent_seq BIGINT;
ALTER TABLE token_lineage ADD COLUMN IF NOT EXISTS parent_event_id VARCHAR;
ALTER TABLE token_lineage ADD COLUMN IF NOT EXISTS parent_received TIMESTAMPTZ;
UPDATE token_lineage AS l
SET parent_seq = named.seq, parent_event_id = named.event_id, parent_received = named.received_at
FROM (SELECT token_fingerprint AS fingerprint, min(store_seq) AS seq, arg_min(event_id, store_seq) AS event_id,
             arg_min(received_at, store_seq) AS received_at
      FROM events
      WHERE token_fingerprint IS NOT NULL AND parent_token_fingerprint IS NOT NULL
      GROUP BY token_fingerprint) AS named
WHERE l.fingerprint = named.fingerprint AND l.parent_fingerprint IS NOT NULL;
UPDATE store_meta SET value = '4' WHERE key = 'schema_version';
