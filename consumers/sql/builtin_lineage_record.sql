-- The revoked_lineage scratch table (builtin_lineage_judge.sql) recorded: a decision of the built-in rule per
-- token, and its revocation at the token's own place (unless it was revoked already), caused by the ancestor.
INSERT INTO policy_decisions BY NAME
SELECT * EXCLUDE (ancestor, root, already_revoked) FROM revoked_lineage
ON CONFLICT DO NOTHING;

INSERT INTO enforcement BY NAME
SELECT 'token' AS subject_kind, subject, tenant, 'revoked' AS status, store_seq AS valid_from_seq,
       decided_at AS valid_from, reason, rule_id || '@v' || rule_version AS rule_id, event_id AS cause_event_id,
       'policy:' || set_name AS decided_by, root, ancestor AS caused_by
FROM revoked_lineage
WHERE NOT already_revoked;
