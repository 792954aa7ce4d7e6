-- The schema version the store was last written or migrated by.
SELECT value FROM store_meta WHERE key = 'schema_version'
