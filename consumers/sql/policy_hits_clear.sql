-- The scratch table each rule's matches go to, and the decisions they make (the first match per rule version
-- and subject, in store order). Emptied before every batch, and before a backtest.
CREATE OR REPLACE TEMP TABLE policy_hits (
    set_name VARCHAR, rule_id VARCHAR, rule_version INTEGER, rules_sha256 VARCHAR, action VARCHAR, mode VARCHAR,
    severity VARCHAR, reason VARCHAR, store_seq BIGINT, received_at TIMESTAMPTZ, tenant VARCHAR, agent_id VARCHAR,
    token_fingerprint VARCHAR, event_id VARCHAR
);

CREATE OR REPLACE TEMP VIEW policy_hit_decisions AS
SELECT rule_id || '@' || rule_version || ':' || subject AS decision_id, store_seq, received_at AS decided_at, tenant,
       set_name, rule_id, rule_version, rules_sha256, action, mode, severity, subject_kind, subject, event_id, reason
FROM (SELECT *,
             CASE WHEN action IN ('revoke_token', 'revoke_token_tree') THEN 'token' ELSE 'agent' END AS subject_kind,
             CASE WHEN action IN ('revoke_token', 'revoke_token_tree') THEN token_fingerprint ELSE agent_id END
                 AS subject
      FROM policy_hits)
WHERE subject IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY rule_id, rule_version, subject ORDER BY store_seq) = 1;
