-- Whether this database is a store already (a new file has no tables).
SELECT 1 FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'store_meta'
