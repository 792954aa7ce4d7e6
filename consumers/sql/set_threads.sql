-- DuckDB's worker threads for the next statements: a database-wide setting (see Materializer._use_threads).
SET threads = $threads
