-- A token that entered the lineage at store_seq $first_seq..$upto_seq from a parent revoked at that moment
-- is revoked too, at its own first_seq and with the parent's root: a revoked lineage cannot be extended.
-- Returns how many it revoked; run until 0 (each run reaches one generation further).
INSERT INTO enforcement BY NAME
SELECT 'token' AS subject_kind, c.fingerprint AS subject, c.tenant, 'revoked' AS status,
       c.first_seq AS valid_from_seq, c.first_received AS valid_from,
       'minted from revoked token ' || p.subject AS reason, p.rule_id,
       c.first_event_id AS cause_event_id, p.decided_by, coalesce(p.root, p.subject) AS root
FROM token_lineage AS c
JOIN enforcement AS p
  ON p.subject_kind = 'token' AND p.subject = c.parent_fingerprint AND p.valid_from_seq < c.first_seq
 AND (p.valid_to_seq IS NULL OR p.valid_to_seq > c.first_seq)
WHERE c.first_seq BETWEEN $first_seq AND $upto_seq
  AND NOT EXISTS (SELECT 1 FROM enforcement AS x
                  WHERE x.subject_kind = 'token' AND x.subject = c.fingerprint AND x.valid_from_seq <= c.first_seq
                    AND (x.valid_to_seq IS NULL OR x.valid_to_seq > c.first_seq));
