-- The store's write-ahead log, for the materializer to check its size (NULL for an in-memory database).
SELECT path || '.wal' FROM duckdb_databases() WHERE database_name = current_database();
