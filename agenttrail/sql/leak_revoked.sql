-- How many of the demo's leaked token lineage ($root, $child, $grandchild) are revoked now.
SELECT count(*) FROM enforcement_in_force WHERE subject_kind = 'token' AND subject IN ($root, $child, $grandchild)
