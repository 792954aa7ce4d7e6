-- DuckDB's worker threads as configured: what large batches run on (see Materializer._use_threads).
SELECT current_setting('threads')::BIGINT
