-- Quarantined input by reason, since the store was made.
SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY reason
