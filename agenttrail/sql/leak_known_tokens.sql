-- The tokens among $fingerprints that stored events carried (as an action's credential, a token.issue's
-- included, or as the parent of one), with their tenant: what a leak report is labelled true_positive by.
SELECT fingerprint, tenant
FROM token_lineage
WHERE list_contains($fingerprints::VARCHAR[], fingerprint)
