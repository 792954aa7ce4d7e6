-- The store_seq of the $n-th unsealed event: where a run of full checkpoints ends.
SELECT store_seq FROM events WHERE store_seq > $after ORDER BY store_seq LIMIT 1 OFFSET $n - 1
