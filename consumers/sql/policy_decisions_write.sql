-- The batch's decisions; a rule version decides about a subject once (a rebuild decides the same).
INSERT INTO policy_decisions BY NAME
SELECT * FROM policy_hit_decisions
ON CONFLICT DO NOTHING;
