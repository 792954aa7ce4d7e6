-- The run's decisions up to $upto_seq (all when NULL); a rule version decides about a subject once (a rebuild
-- decides the same).
INSERT INTO policy_decisions BY NAME
SELECT * FROM policy_hit_decisions
WHERE $upto_seq IS NULL OR store_seq <= $upto_seq
ON CONFLICT DO NOTHING;
