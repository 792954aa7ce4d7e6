-- The built-in rule leaked-token (consumers/policy/builtin.py): a leak report (batch_leaks, the batch's
-- leak.reported control events) of a token the lineage knew at the report's place in the store order revokes
-- that token and its whole tree, through the enforcement asks like any rule's decision. One decision per
-- report, so a token reinstated and then leaked again is revoked again. A token never seen is left to the
-- report's own record (leak_reports): nothing of ours carries it.
INSERT INTO policy_decisions BY NAME
SELECT $rule_id || '@' || $rule_version || ':' || l.fingerprint || ':' || r.event_id AS decision_id,
       r.store_seq, r.received_at AS decided_at, l.tenant, $set_name AS set_name, $rule_id AS rule_id,
       $rule_version AS rule_version, $rules_sha256 AS rules_sha256, $action AS action, $mode AS mode,
       $severity AS severity, 'token' AS subject_kind, l.fingerprint AS subject, r.event_id,
       'reported leaked by ' || json_extract_string(r.payload, '$.reporter')
           || coalesce(' at ' || nullif(json_extract_string(r.payload, '$.source_url'), ''), '') AS reason
FROM batch_leaks AS r
JOIN token_lineage AS l
  ON l.fingerprint = json_extract_string(r.payload, '$.fingerprint') AND l.first_seq < r.store_seq
ON CONFLICT DO NOTHING;
