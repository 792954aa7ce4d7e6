-- The batch's budget changes (batch_control) become history rows; each closes the version before it.
CREATE OR REPLACE TEMP TABLE budget_changes AS
SELECT
    tenant,
    json_extract_string(payload, '$.scope')
        || coalesce('|model=' || json_extract_string(payload, '$.model'), '') AS budget_id,
    split_part(json_extract_string(payload, '$.scope'), ':', 1) AS scope_kind,
    substr(json_extract_string(payload, '$.scope'), strpos(json_extract_string(payload, '$.scope'), ':') + 1)
        AS scope_id,
    json_extract_string(payload, '$.model') AS model,
    CAST(json_extract_string(payload, '$.limit') AS DECIMAL(38, 9)) AS limit_amount,
    json_extract_string(payload, '$.currency') AS currency,
    json_extract_string(payload, '$.period') AS period,
    CAST(json_extract(payload, '$.thresholds') AS INTEGER[]) AS thresholds,
    json_extract_string(payload, '$.on_exceed') AS on_exceed,
    store_seq AS valid_from_seq,
    received_at AS valid_from,
    actor_kind || ':' || actor_id AS set_by,
    reason,
    event_id AS control_event_id
FROM batch_control
WHERE kind IN ('budget.set', 'budget.remove');

CREATE OR REPLACE TEMP TABLE budget_versions AS
SELECT
    *,
    lead(valid_from_seq) OVER (PARTITION BY tenant, budget_id ORDER BY valid_from_seq) AS valid_to_seq,
    lead(valid_from) OVER (PARTITION BY tenant, budget_id ORDER BY valid_from_seq) AS valid_to
FROM budget_changes;

UPDATE budgets AS b
SET valid_to_seq = c.first_seq, valid_to = c.first_at
FROM (SELECT tenant, budget_id, min(valid_from_seq) AS first_seq, min(valid_from) AS first_at
      FROM budget_changes GROUP BY tenant, budget_id) AS c
WHERE b.tenant = c.tenant AND b.budget_id = c.budget_id AND b.valid_to_seq IS NULL;

INSERT INTO budgets BY NAME SELECT * FROM budget_versions;

DROP TABLE budget_changes;
DROP TABLE budget_versions;
