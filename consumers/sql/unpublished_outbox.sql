SELECT outbox_id, topic, key, value, headers FROM outbox WHERE published_at IS NULL ORDER BY outbox_id LIMIT $limit
