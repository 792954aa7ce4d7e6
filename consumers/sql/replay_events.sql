-- The next page of stored events in the store's total order, for rebuild.
SELECT * FROM events WHERE store_seq > $after ORDER BY store_seq LIMIT $limit
