-- The batch's retention changes (batch_control) become history rows; each closes the one before it.
CREATE OR REPLACE TEMP TABLE retention_changes AS
SELECT
    tenant,
    CASE WHEN kind = 'retention.set' THEN CAST(json_extract_string(payload, '$.days') AS DECIMAL(12, 6)) END AS days,
    store_seq AS valid_from_seq,
    lead(store_seq) OVER (PARTITION BY tenant ORDER BY store_seq) AS valid_to_seq,
    received_at AS valid_from,
    lead(received_at) OVER (PARTITION BY tenant ORDER BY store_seq) AS valid_to,
    actor_kind || ':' || actor_id AS set_by,
    reason,
    event_id AS control_event_id
FROM batch_control
WHERE kind IN ('retention.set', 'retention.clear');

UPDATE retention_periods AS t
SET valid_to_seq = c.first_seq, valid_to = c.first_at
FROM (SELECT tenant, min(valid_from_seq) AS first_seq, min(valid_from) AS first_at
      FROM retention_changes GROUP BY tenant) AS c
WHERE t.tenant = c.tenant AND t.valid_to_seq IS NULL;

INSERT INTO retention_periods BY NAME SELECT * FROM retention_changes;

DROP TABLE retention_changes;
