-- One stored row by store_seq and event_id, every column (EVENT_COLUMNS order), timestamps as epoch microseconds.
SELECT * REPLACE (epoch_us(received_at) AS received_at, epoch_us(occurred_at) AS occurred_at)
FROM events
WHERE store_seq = $store_seq AND event_id = $event_id
