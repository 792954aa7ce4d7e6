-- What the destroyed keys ($keys) had unsealed, gone: from the live table and from the newest retention baseline
-- (consumers/retention.py), which a rebuild would otherwise bring back.
DELETE FROM sealed_values WHERE key_id IN (SELECT unnest($keys::VARCHAR[]));
DELETE FROM retention_baseline.sealed_values WHERE key_id IN (SELECT unnest($keys::VARCHAR[]));
