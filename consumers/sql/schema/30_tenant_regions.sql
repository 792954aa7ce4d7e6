-- Each tenant's allowed regions as history: one row per change, open (valid_to_seq NULL) while in force.
-- regions NULL means unrestricted. An event is judged by the row in force at its store_seq.
CREATE TABLE IF NOT EXISTS tenant_regions (
    tenant           VARCHAR NOT NULL,
    regions          VARCHAR[],
    valid_from_seq   BIGINT NOT NULL,
    valid_to_seq     BIGINT,
    valid_from       TIMESTAMPTZ NOT NULL,
    valid_to         TIMESTAMPTZ,
    set_by           VARCHAR NOT NULL,
    reason           VARCHAR,
    control_event_id VARCHAR NOT NULL
);

CREATE OR REPLACE VIEW tenant_regions_current AS
SELECT tenant, regions, valid_from, set_by, reason, control_event_id
FROM tenant_regions
WHERE valid_to_seq IS NULL;

-- Which of an action's regions lies outside the allowed ones, as {side: resource|data, region}; NULL if none.
CREATE OR REPLACE MACRO region_outside(allowed, resource_region, data_region) AS
    CASE WHEN resource_region IS NOT NULL AND NOT list_contains(allowed, resource_region)
         THEN {'side': 'resource', 'region': resource_region}
         WHEN data_region IS NOT NULL AND NOT list_contains(allowed, data_region)
         THEN {'side': 'data', 'region': data_region}
    END;
