-- Whether any tenant had allowed regions in force at or after store_seq $first_seq (else no action can violate one).
SELECT EXISTS (SELECT 1 FROM tenant_regions WHERE regions IS NOT NULL AND (valid_to_seq IS NULL OR valid_to_seq > $first_seq))
