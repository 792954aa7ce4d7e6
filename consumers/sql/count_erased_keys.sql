-- Add the keys just destroyed ($erased_by: one erasure event id per key) to their erasures' counts.
UPDATE erasures AS e
SET keys_destroyed = e.keys_destroyed + c.keys
FROM (SELECT event_id, count(*) AS keys FROM (SELECT unnest($erased_by::VARCHAR[]) AS event_id) GROUP BY event_id) AS c
WHERE e.event_id = c.event_id
