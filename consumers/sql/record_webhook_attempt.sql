UPDATE webhook_deliveries
SET status = $status, attempts = attempts + 1, next_attempt_at = $next_attempt_at, last_status = $last_status,
    last_error = $last_error, delivered_at = CASE WHEN $status = 'delivered' THEN $now END
WHERE delivery_id = $delivery_id
