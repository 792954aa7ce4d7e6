-- The next page of stored events since $since (occurred_at) in store order, for a policy backtest.
SELECT * FROM events
WHERE store_seq > $after AND ($since::TIMESTAMPTZ IS NULL OR occurred_at >= $since::TIMESTAMPTZ)
ORDER BY store_seq
LIMIT $limit
