-- The rule sets in force at some point of the batch starting at store_seq $first_seq, with the store_seq range
-- each judges (after valid_from_seq, before valid_to_seq), so a change inside a batch applies from its place.
SELECT tenant, name, sha256, text, valid_from_seq, valid_to_seq
FROM policy_sets
WHERE status = 'active' AND (valid_to_seq IS NULL OR valid_to_seq > $first_seq)
ORDER BY tenant, name, valid_from_seq
