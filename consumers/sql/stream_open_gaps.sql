-- Gaps still open, each with the audit.gap event that declared its whole range, if any.
SELECT g.stream_id, g.first_seq, g.last_seq, g.last_seq - g.first_seq + 1 - g.arrived AS missing, g.opened_at,
       (SELECT min(d.event_id) FROM stream_gap_declarations AS d
        WHERE d.stream_id = g.stream_id AND d.first_seq <= g.first_seq AND d.last_seq >= g.last_seq) AS declared_by
FROM stream_gaps AS g
WHERE g.closed_at IS NULL
ORDER BY g.stream_id, g.first_seq
