-- The budgets in force, per tenant and scope ("agent:*" is the default for agents without their own).
-- param tenant: text -- tenant; omitted means every tenant
SELECT
    tenant,
    budget_id,
    limit_amount AS "limit",
    currency,
    period,
    array_to_string(thresholds, ',') AS thresholds,
    on_exceed,
    set_by,
    valid_from AS since,
    reason
FROM budgets_current
WHERE $tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR
ORDER BY tenant, budget_id
