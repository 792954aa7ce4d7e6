-- What the destroyed keys ($keys) had unsealed, gone.
DELETE FROM sealed_values WHERE key_id IN (SELECT unnest($keys::VARCHAR[]))
