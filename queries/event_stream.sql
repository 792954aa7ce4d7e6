-- The integrity of one event's stream (its emitter's hash chain): gaps still open in it, gaps it closed,
-- and breaks that name it. kind is gap_open, gap_closed, declared (an audit.gap said so) or a break kind.
-- param event_id: text required -- id of the event
-- param tenant: text -- only when the event belongs to this tenant
WITH target AS (
    SELECT stream_id, stream_seq, store_seq FROM events
    WHERE event_id = $event_id::VARCHAR AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
)
SELECT CASE WHEN g.closed_at IS NULL THEN 'gap_open' ELSE 'gap_closed' END AS kind,
       g.first_seq, g.last_seq, g.revealed_by AS event_id,
       (SELECT d.event_id FROM stream_gap_declarations AS d
        WHERE d.stream_id = g.stream_id AND d.first_seq <= g.last_seq AND d.last_seq >= g.first_seq
        LIMIT 1) AS declared_by,
       (t.stream_seq BETWEEN g.first_seq AND g.last_seq) AS this_event
FROM stream_gaps AS g JOIN target AS t USING (stream_id)
UNION ALL
SELECT b.kind, b.stream_seq, b.stream_seq, b.event_id, NULL, b.event_id = $event_id::VARCHAR
FROM stream_breaks AS b JOIN target AS t USING (stream_id)
WHERE b.event_id = $event_id::VARCHAR OR b.other_event_id = $event_id::VARCHAR
ORDER BY first_seq
