-- One value of the store's own record (schema version, the shard that fills it), or no row.
SELECT value FROM store_meta WHERE key = $key
