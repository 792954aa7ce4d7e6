-- The leak reports of the lineage's tokens (blast_tokens) received by $as_of, oldest first.
SELECT r.reported_at, r.fingerprint, r.exposed_at, r.source_url, r.found_in, r.token_type, r.reporter, r.label,
       r.reported_by, r.control_event_id
FROM leak_reports AS r
JOIN blast_tokens AS t USING (fingerprint)
WHERE r.reported_at <= $as_of
ORDER BY r.store_seq
