-- Stage (m)'s budgets on stage (d)'s store, as a deployment would have them: every agent capped by its tenant's
-- agent:* daily default, and each tenant by a monthly budget; a blast radius reports each as of its moment.
INSERT INTO budgets
SELECT tenant, scope, split_part(scope, ':', 1), substr(scope, strpos(scope, ':') + 1), NULL, limit_amount, 'USD',
       period, [50, 80, 100], 'alert', 0, NULL, TIMESTAMPTZ '2020-01-01 00:00:00+00', NULL, 'human:bench', NULL,
       'bench-budget-' || scope
FROM (SELECT DISTINCT tenant FROM events) AS t,
     (VALUES ('agent:*', 5.0::DECIMAL(38, 9), 'day'), ('tenant:', 500.0::DECIMAL(38, 9), 'month'))
         AS b(kind, limit_amount, period),
     LATERAL (SELECT CASE b.kind WHEN 'tenant:' THEN 'tenant:' || t.tenant ELSE b.kind END AS scope)
