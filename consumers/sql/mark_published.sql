UPDATE outbox SET published_at = now() WHERE outbox_id IN (SELECT unnest($ids::BIGINT[]))
