-- The first of this run's decisions that stops someone: an enforce-mode revocation or suspension not decided
-- before. Enforcement acts on it before the events after it are judged (they may now be revoked or suspended).
SELECT min(store_seq)
FROM policy_hit_decisions
WHERE mode = 'enforce' AND action IN ('revoke_token', 'revoke_token_tree', 'suspend_agent')
  AND decision_id NOT IN (SELECT decision_id FROM policy_decisions);
