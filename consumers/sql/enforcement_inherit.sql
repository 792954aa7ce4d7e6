-- A token linked to its parent at store_seq $first_seq..$upto_seq (its token.issue, or a later event that named
-- the parent) while that parent was revoked is revoked too, at that place and with the parent's root: a revoked
-- lineage cannot be extended. Returns how many it revoked; run until 0 (each run reaches one generation further).
INSERT INTO enforcement BY NAME
SELECT 'token' AS subject_kind, c.fingerprint AS subject, c.tenant, 'revoked' AS status,
       c.parent_seq AS valid_from_seq, c.parent_received AS valid_from,
       'minted from revoked token ' || p.subject AS reason, p.rule_id,
       c.parent_event_id AS cause_event_id, p.decided_by, coalesce(p.root, p.subject) AS root
FROM token_lineage AS c
JOIN enforcement AS p
  ON p.subject_kind = 'token' AND p.subject = c.parent_fingerprint AND p.valid_from_seq < c.parent_seq
 AND (p.valid_to_seq IS NULL OR p.valid_to_seq > c.parent_seq)
WHERE c.parent_seq BETWEEN $first_seq AND $upto_seq
  AND NOT EXISTS (SELECT 1 FROM enforcement AS x
                  WHERE x.subject_kind = 'token' AND x.subject = c.fingerprint AND x.valid_from_seq <= c.parent_seq
                    AND (x.valid_to_seq IS NULL OR x.valid_to_seq > c.parent_seq));
