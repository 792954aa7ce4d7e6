-- Notices for the compacted revocations topic, started or lifted at store_seq $first_seq..$last_seq (issued_at
-- reaches Python as a UTC datetime through Arrow, as the guard decodes it from Avro).
SELECT notice_id, issued_at, tenant, subject_kind, subject, status, reason,
       rule_id, cause_event_id, root, decided_by, caused_by
FROM enforcement_notices
WHERE store_seq BETWEEN $first_seq AND $last_seq
ORDER BY store_seq, notice_id
