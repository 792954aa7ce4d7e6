-- Schema version 3 -> 4: a spike series' history starts at its origin's first bucket (anomaly_origins, which
-- the schema files create), so sensitive_burst can count per action type from the agent's first sensitive
-- action; its series are new, so the step asks for the projections to be rebuilt.
ALTER TABLE anomaly_series DROP COLUMN IF EXISTS first_bucket;
UPDATE store_meta SET value = '4' WHERE key = 'schema_version';
