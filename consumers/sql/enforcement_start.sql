-- One revocation or suspension at store_seq $seq. A token revoked with $tree takes every descendant known
-- by then along: linked to its parent before $seq (links named later are caught by enforcement_inherit.sql).
-- Subjects already revoked or suspended are left as they are, so a second revocation does not start a second
-- notice.
INSERT INTO enforcement BY NAME
WITH RECURSIVE tree(fingerprint) AS (
    SELECT $subject
    UNION
    SELECT l.fingerprint
    FROM token_lineage AS l
    JOIN tree AS t ON l.parent_fingerprint = t.fingerprint
    WHERE $tree AND $subject_kind = 'token' AND l.parent_seq < $seq
)
SELECT $subject_kind AS subject_kind, t.fingerprint AS subject, coalesce(l.tenant, $tenant) AS tenant,
       $verb AS status, $seq AS valid_from_seq, $at AS valid_from,
       CASE WHEN t.fingerprint = $subject THEN $reason
            ELSE 'minted from revoked token ' || $subject || ': ' || $reason END AS reason,
       $rule_id AS rule_id, $cause_event_id AS cause_event_id, $decided_by AS decided_by,
       CASE WHEN $subject_kind = 'token' THEN $subject END AS root
FROM tree AS t
LEFT JOIN token_lineage AS l USING (fingerprint)
WHERE NOT EXISTS (SELECT 1 FROM enforcement_in_force AS x
                  WHERE x.subject_kind = $subject_kind AND x.subject = t.fingerprint);
