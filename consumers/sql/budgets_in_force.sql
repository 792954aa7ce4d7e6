-- Whether any budget can apply to a charge stored at $first_seq or later (else the batch needs no check).
SELECT count(*) FROM budgets
WHERE limit_amount IS NOT NULL AND (valid_to_seq IS NULL OR valid_to_seq > $first_seq)
