-- A policy.load or policy.remove at store_seq $seq closes the set in force under (tenant, name), unless the new
-- set was rejected: then the set before it stays in force.
UPDATE policy_sets SET valid_to_seq = $seq, valid_to = $at
WHERE tenant = $tenant AND name = $name AND valid_to_seq IS NULL AND status = 'active' AND $status <> 'rejected';
