SELECT delivery_id, endpoint, body, attempts
FROM webhook_deliveries
WHERE status = 'pending' AND next_attempt_at <= $now
ORDER BY next_attempt_at, delivery_id
LIMIT $limit
