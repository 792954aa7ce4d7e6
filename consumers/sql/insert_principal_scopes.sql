-- The subject digests ($digests) of principal budget scopes ($scopes), pairwise.
INSERT INTO principal_scopes
SELECT unnest($scopes::VARCHAR[]), unnest($digests::VARCHAR[])
ON CONFLICT DO NOTHING
