INSERT INTO ingest_counters VALUES ($name, $amount)
ON CONFLICT (name) DO UPDATE SET value = ingest_counters.value + excluded.value
