SELECT count(*) FROM budget_charges
