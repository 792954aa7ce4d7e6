INSERT INTO webhook_deliveries BY NAME
SELECT *, 'pending' AS status, 0 AS attempts, queued_at AS next_attempt_at, NULL AS last_status,
       NULL AS last_error, NULL AS delivered_at
FROM batch_deliveries
ON CONFLICT DO NOTHING
