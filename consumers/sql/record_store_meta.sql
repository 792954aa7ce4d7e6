-- Record one value in the store's own record, once: a value already there is kept.
INSERT INTO store_meta VALUES ($key, $value) ON CONFLICT DO NOTHING
