-- Schema version 2 -> 3: anomaly_seen keeps when each new thing was first seen and whether that raised a hit,
-- so repeats within the gap extend its flag. Rows from before are never a repeat's first time (NULLs).
ALTER TABLE anomaly_seen ADD COLUMN IF NOT EXISTS first_at TIMESTAMPTZ;
ALTER TABLE anomaly_seen ADD COLUMN IF NOT EXISTS raised BOOLEAN;
UPDATE store_meta SET value = '3' WHERE key = 'schema_version';
