-- The built-in rule revoked-lineage (consumers/policy/builtin.py), judged for the tokens that entered the lineage
-- at store_seq $first_seq..$upto_seq (no revocation starts or ends in between). A token whose first event names
-- the token it was minted from extends a revoked lineage when that parent, or any token above it, is revoked
-- at that moment: an incident. Ancestors are walked as they were known at the token's place (a parent named
-- later does not count), and revoked means a revocation in force there, or an incident of this same range
-- minted before it: so the nearest revoked ancestor (its cause) is the same whatever the batch boundaries. The
-- token takes the root of the nearest revocation in force, so reinstating that tree lifts it too.
-- Into the revoked_lineage scratch table, which builtin_lineage_record.sql records as decisions and revocations.
CREATE OR REPLACE TEMP TABLE revoked_lineage AS
WITH RECURSIVE minted AS (
    SELECT fingerprint, tenant, parent_fingerprint, first_seq, first_event_id, first_received
    FROM token_lineage
    WHERE first_seq BETWEEN $first_seq AND $upto_seq AND parent_seq = first_seq
),
ancestors(token, seq, ancestor, depth) AS (
    SELECT fingerprint, first_seq, parent_fingerprint, 1 FROM minted
    UNION ALL
    SELECT a.token, a.seq, l.parent_fingerprint, a.depth + 1
    FROM ancestors AS a
    JOIN token_lineage AS l ON l.fingerprint = a.ancestor AND l.parent_seq < a.seq
    WHERE a.depth < 64  -- only a forged cycle of parents gets this deep
),
in_force AS (  -- ancestors under a revocation in force at the token's place
    SELECT a.token, a.depth, a.ancestor, coalesce(x.root, x.subject) AS root
    FROM ancestors AS a
    JOIN enforcement AS x
      ON x.subject_kind = 'token' AND x.subject = a.ancestor AND x.valid_from_seq < a.seq
     AND (x.valid_to_seq IS NULL OR x.valid_to_seq > a.seq)
),
incidents AS (
    SELECT token, arg_min(root, depth) AS root FROM in_force GROUP BY token
),
nearest AS (  -- the nearest ancestor revoked then: in force, or an incident of this range minted before
    SELECT a.token, arg_min(a.ancestor, a.depth) AS ancestor
    FROM ancestors AS a
    LEFT JOIN in_force AS f USING (token, depth)
    LEFT JOIN minted AS earlier ON earlier.fingerprint = a.ancestor AND earlier.first_seq < a.seq
    WHERE f.token IS NOT NULL OR earlier.fingerprint IN (SELECT token FROM incidents)
    GROUP BY a.token
)
SELECT $rule_id || '@' || $rule_version || ':' || m.fingerprint AS decision_id, m.first_seq AS store_seq,
       m.first_received AS decided_at, m.tenant, $set_name AS set_name, $rule_id AS rule_id,
       $rule_version AS rule_version, $rules_sha256 AS rules_sha256, $action AS action, $mode AS mode,
       $severity AS severity, 'token' AS subject_kind, m.fingerprint AS subject, m.first_event_id AS event_id,
       'minted from revoked token ' || n.ancestor
           || CASE WHEN n.ancestor <> m.parent_fingerprint THEN ' through token ' || m.parent_fingerprint ELSE '' END
           AS reason,
       n.ancestor, i.root,
       EXISTS (SELECT 1 FROM enforcement AS x
               WHERE x.subject_kind = 'token' AND x.subject = m.fingerprint AND x.valid_from_seq <= m.first_seq
                 AND (x.valid_to_seq IS NULL OR x.valid_to_seq > m.first_seq)) AS already_revoked
FROM minted AS m
JOIN incidents AS i ON i.token = m.fingerprint
JOIN nearest AS n ON n.token = m.fingerprint;
