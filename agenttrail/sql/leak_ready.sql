-- Whether the store holds what the demo's leaked-token story needs before the leak: its rule set in force
-- ($sha256) and the token lineage down to the grandchild ($grandchild, minted from the child).
SELECT EXISTS (SELECT 1 FROM policy_sets WHERE status = 'active' AND valid_to_seq IS NULL AND sha256 = $sha256)
   AND EXISTS (SELECT 1 FROM token_lineage WHERE fingerprint = $grandchild AND parent_fingerprint IS NOT NULL)
