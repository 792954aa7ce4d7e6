-- How many stored events no checkpoint covers yet, and how many seconds ago the oldest of them arrived.
SELECT count(*), (epoch_us(get_current_timestamp()) - epoch_us(min(received_at))) / 1e6
FROM events
WHERE store_seq > $after
