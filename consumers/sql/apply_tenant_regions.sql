-- The batch's region changes (batch_control) become history rows; each closes the one before it.
CREATE OR REPLACE TEMP TABLE region_changes AS
SELECT
    tenant,
    CASE WHEN kind = 'tenant.regions.set'
         THEN CAST(json_extract(payload, '$.regions') AS VARCHAR[]) END AS regions,
    store_seq AS valid_from_seq,
    lead(store_seq) OVER (PARTITION BY tenant ORDER BY store_seq) AS valid_to_seq,
    received_at AS valid_from,
    lead(received_at) OVER (PARTITION BY tenant ORDER BY store_seq) AS valid_to,
    actor_kind || ':' || actor_id AS set_by,
    reason,
    event_id AS control_event_id
FROM batch_control
WHERE kind IN ('tenant.regions.set', 'tenant.regions.clear');

UPDATE tenant_regions AS t
SET valid_to_seq = c.first_seq, valid_to = c.first_at
FROM (SELECT tenant, min(valid_from_seq) AS first_seq, min(valid_from) AS first_at
      FROM region_changes GROUP BY tenant) AS c
WHERE t.tenant = c.tenant AND t.valid_to_seq IS NULL;

INSERT INTO tenant_regions BY NAME SELECT * FROM region_changes;

DROP TABLE region_changes;
