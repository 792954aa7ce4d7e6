-- The keys among $keys that are stored and not destroyed, wrapped as they came.
SELECT key_id, tenant, wrapped FROM subject_keys
WHERE key_id IN (SELECT unnest($keys::VARCHAR[])) AND wrapped IS NOT NULL
