-- One scope's budget as of a moment: limit, spent in that period, remaining, and other currencies unconverted.
-- An agent without a budget of its own shows the tenant's "agent:*" default. Spend counts charges that
-- had occurred and been received by as_of, so the answer for a past moment is what was known then
-- (the budget_standing macro, consumers/sql/schema/41_budget_standing.sql, which a blast radius shares).
-- param tenant: text required -- tenant
-- param scope: text required -- tenant:T, principal:P, agent:A or token:FINGERPRINT
-- param model: text -- the model the budget is scoped to, if any
-- param as_of: timestamp = 0m -- the moment to answer for (30m, 2h, 7d or an ISO date; default now)
SELECT *
FROM budget_standing($tenant::VARCHAR, [{'scope': $scope::VARCHAR, 'model': $model::VARCHAR}],
                     $as_of::TIMESTAMPTZ)
