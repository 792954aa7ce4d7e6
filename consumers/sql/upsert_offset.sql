INSERT INTO consumer_offsets VALUES ($topic, $partition, $next_offset, $topic_id)
ON CONFLICT (topic, "partition") DO UPDATE SET next_offset = excluded.next_offset, topic_id = excluded.topic_id
