-- The stored rows a checkpoint covers, every column, in tree order: one archive file's content.
SELECT * FROM events WHERE store_seq BETWEEN $first AND $last ORDER BY store_seq, event_id
