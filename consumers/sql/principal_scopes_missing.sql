-- principal:P budget scopes (every version, in force or not) whose subject digest is not recorded yet.
SELECT DISTINCT scope_id FROM budgets
WHERE scope_kind = 'principal' AND scope_id NOT IN (SELECT scope_id FROM principal_scopes)
