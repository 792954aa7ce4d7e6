-- The allowed regions in force for each tenant, and who set them (no row: the tenant is unrestricted).
-- param tenant: text -- tenant; omitted means every tenant
SELECT
    tenant,
    coalesce(array_to_string(regions, ','), '(any)') AS allowed,
    valid_from AS since,
    set_by,
    reason,
    control_event_id
FROM tenant_regions_current
WHERE $tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR
ORDER BY tenant
