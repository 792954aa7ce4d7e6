-- The notices still in force (each token's or agent's newest, when it is not a reinstatement), for `serve` to
-- publish again on start: the embedded broker forgets its topics, the guards must not forget a revocation.
SELECT notice_id, issued_at, tenant, subject_kind, subject, status, reason,
       rule_id, cause_event_id, root, decided_by, caused_by
FROM enforcement_notices
QUALIFY row_number() OVER (PARTITION BY subject_kind, subject ORDER BY store_seq DESC) = 1
    AND status <> 'reinstated'
ORDER BY store_seq, notice_id
