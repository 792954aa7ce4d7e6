-- One page of stored control events for a rebuild: those placed after $after, up to $upto in store order.
SELECT store_seq, event_id, received_at, occurred_at, tenant, kind, actor_kind, actor_id, via, reason,
       payload::VARCHAR AS payload, event_hash, kafka_topic, kafka_partition, kafka_offset, raw
FROM control_events
WHERE store_seq > $after AND store_seq <= $upto
ORDER BY store_seq
