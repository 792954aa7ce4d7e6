-- The webhook delivery log: every alert sent to each endpoint, with attempts and the last answer.
-- param status: text -- pending, delivered or failed; omitted means all
-- param limit: int = 1000 -- maximum rows
SELECT
    queued_at,
    endpoint,
    status,
    attempts,
    last_status,
    last_error,
    delivered_at,
    next_attempt_at,
    delivery_id
FROM webhook_deliveries
WHERE $status::VARCHAR IS NULL OR status = $status::VARCHAR
ORDER BY queued_at DESC, delivery_id
LIMIT $limit::BIGINT
