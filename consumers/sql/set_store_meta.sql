INSERT INTO store_meta VALUES ($key, $value) ON CONFLICT DO UPDATE SET value = excluded.value
