-- One rule's matches among policy_events. {matching} is the one place a rule's text enters SQL:
-- consumers/policy/conditions.py checks it (one expression, no subquery or table function) before it gets here.
INSERT INTO policy_hits
SELECT $set_name, $rule_id, $rule_version, $rules_sha256, $action, $mode, $severity, $reason, store_seq, received_at,
       tenant, agent_id, token_fingerprint, event_id
FROM ({matching}) AS matched;
