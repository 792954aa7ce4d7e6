-- When the newest stored event was received (DuckDB answers this from column statistics, no scan).
SELECT max(received_at) FROM events
