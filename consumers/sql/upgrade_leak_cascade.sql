-- Schema version 4 -> 5: the lineage keeps when each parent was named (token_lineage.parent_seq, parent_known_at)
-- for "as of" questions; a cascade's revocations name the token each was revoked through (enforcement.caused_by,
-- added by schema/70_enforcement.sql before its views read it); leak reports are kept (leak_reports, a new table);
-- tokens minted from a revoked lineage are judged at any depth. The step replays the leak reports and the
-- enforcement projection (lineage, revocations, built-in decisions) from the stored events and control events.
ALTER TABLE token_lineage ADD COLUMN IF NOT EXISTS parent_seq BIGINT;
ALTER TABLE token_lineage ADD COLUMN IF NOT EXISTS parent_known_at TIMESTAMPTZ;
UPDATE store_meta SET value = '5' WHERE key = 'schema_version';
