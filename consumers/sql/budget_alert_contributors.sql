-- Who spent it: the top agents and chains (traces) behind each alert raised in this batch,
-- counting the scope's charges in the alert's period up to the event that raised it.
UPDATE alerts AS a
SET top_agents = c.top_agents, top_chains = c.top_chains
FROM (
    WITH raised AS (
        SELECT a.alert_id, a.tenant, a.store_seq, a.period_start, a.currency, b.scope_kind, b.scope_id,
               b.model, b.period, substr(a.scope, strpos(a.scope, ':') + 1) AS agent_instance
        FROM alerts AS a
        JOIN budgets AS b ON b.tenant = a.tenant AND b.budget_id = a.budget_id
         AND a.store_seq > b.valid_from_seq AND (b.valid_to_seq IS NULL OR a.store_seq < b.valid_to_seq)
        WHERE a.store_seq BETWEEN $first_seq AND $last_seq AND a.kind LIKE 'budget.%'
    ),
    charges AS (
        SELECT r.alert_id, e.agent_id, e.trace_id, e.cost_amount
        FROM raised AS r
        JOIN events AS e
          ON e.tenant = r.tenant AND e.cost_currency = r.currency AND e.store_seq <= r.store_seq
         AND e.cost_amount IS NOT NULL
         AND (r.period = 'total' OR date_trunc(r.period, make_timestamp(epoch_us(e.occurred_at))) = r.period_start)
         AND (r.model IS NULL OR e.agent_model = r.model)
         AND CASE r.scope_kind
                WHEN 'tenant' THEN true
                WHEN 'principal' THEN principal_in_scope(e.principal_id, r.scope_id)
                WHEN 'token' THEN e.token_fingerprint = r.scope_id
                WHEN 'agent' THEN e.agent_id = r.agent_instance
             END
    ),
    by_agent AS (
        SELECT alert_id, agent_id, sum(cost_amount) AS spent FROM charges GROUP BY ALL
    ),
    by_chain AS (
        SELECT alert_id, trace_id, sum(cost_amount) AS spent FROM charges GROUP BY ALL
    )
    SELECT
        alert_id,
        (SELECT list({'agent_id': agent_id, 'spent': spent} ORDER BY spent DESC, agent_id)[1:3]
         FROM by_agent AS g WHERE g.alert_id = r.alert_id) AS top_agents,
        (SELECT list({'trace_id': trace_id, 'spent': spent} ORDER BY spent DESC, trace_id)[1:3]
         FROM by_chain AS g WHERE g.alert_id = r.alert_id) AS top_chains
    FROM raised AS r
) AS c
WHERE a.alert_id = c.alert_id;
