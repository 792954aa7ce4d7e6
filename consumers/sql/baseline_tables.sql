-- The projection tables the newest retention baseline holds a copy of.
SELECT table_name FROM duckdb_tables() WHERE schema_name = 'retention_baseline'
