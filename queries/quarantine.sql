-- Recently quarantined input and why it was refused, newest first (the raw bytes stay in the store).
-- param reason: text -- quarantine reason; omitted means every reason
-- param limit: int = 100 -- maximum rows
SELECT
    quarantine_id,
    received_at,
    reason,
    detail,
    event_id,
    tenant,
    kafka_topic,
    kafka_partition,
    kafka_offset,
    redacted,
    raw_sha256
FROM quarantine
WHERE ($reason::VARCHAR IS NULL OR reason = $reason::VARCHAR)
ORDER BY received_at DESC, quarantine_id DESC
LIMIT $limit::BIGINT
