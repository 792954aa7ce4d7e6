-- A backtest's decisions over all its pages, in store order (policy_hits accumulates across pages).
SELECT * FROM policy_hit_decisions ORDER BY store_seq, decision_id
