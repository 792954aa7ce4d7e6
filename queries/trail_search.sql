-- The console's trail search: events matching every filter given, newest first, one page at a time.
-- Paged by keyset, not OFFSET: the next page passes the last row's occurred_at and store_seq as
-- before_at and before_seq, so page 500 costs what page 1 does. region matches the agent's, the
-- resource's or the data's region; principal is kind:id or id. A person's sealed id (schemas/sealing.py) reads as its
-- value, or [erased], and is found by its value while their keys live.
-- param tenant: text -- tenant; omitted means every tenant
-- param agent: text -- agent id
-- param principal: text -- on whose behalf, e.g. human:alice@acme.example
-- param fingerprint: text -- token fingerprint (hmac-sha256:k1:...)
-- param action: text -- action type, e.g. subscription.activate
-- param outcome: text -- success, failure or denied
-- param region: text -- agent, resource or data region
-- param since: timestamp -- earliest occurred_at, inclusive (30m, 2h, 7d or an ISO date)
-- param until: timestamp -- latest occurred_at, exclusive (30m, 2h, 7d or an ISO date)
-- param before_at: timestamp -- keyset: the previous page's last occurred_at
-- param before_seq: int -- keyset: the previous page's last store_seq
-- param limit: int = 50 -- rows per page
WITH page AS (
    SELECT occurred_at, tenant, agent_id, agent_version, principal_kind, principal_id, action_type, action_name,
           outcome, cost_amount, cost_currency, agent_region, token_fingerprint, event_id, store_seq
    FROM events
    WHERE ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
      AND ($agent::VARCHAR IS NULL OR agent_id = $agent::VARCHAR)
      AND ($principal::VARCHAR IS NULL OR principal_id = $principal::VARCHAR
           OR principal_kind || ':' || principal_id = $principal::VARCHAR
           OR list_contains(sealed_refs($principal::VARCHAR), principal_id))
      AND ($fingerprint::VARCHAR IS NULL OR token_fingerprint = $fingerprint::VARCHAR)
      AND ($action::VARCHAR IS NULL OR action_type = $action::VARCHAR)
      AND ($outcome::VARCHAR IS NULL OR outcome = $outcome::VARCHAR)
      AND ($region::VARCHAR IS NULL OR agent_region = $region::VARCHAR OR resource_region = $region::VARCHAR
           OR data_region = $region::VARCHAR)
      AND ($since::TIMESTAMPTZ IS NULL OR occurred_at >= $since::TIMESTAMPTZ)
      AND ($until::TIMESTAMPTZ IS NULL OR occurred_at < $until::TIMESTAMPTZ)
      AND ($before_at::TIMESTAMPTZ IS NULL OR occurred_at < $before_at::TIMESTAMPTZ
           OR (occurred_at = $before_at::TIMESTAMPTZ AND store_seq < coalesce($before_seq::BIGINT, 0)))
    ORDER BY occurred_at DESC, store_seq DESC
    LIMIT $limit::BIGINT
)
SELECT
    occurred_at,
    tenant,
    agent_id,
    agent_version,
    principal_kind || ':' || unseal(principal_id) AS principal,  -- on the page's rows only
    action_type,
    action_name,
    outcome,
    cost_amount,
    cost_currency,
    agent_region AS region,
    token_fingerprint,
    event_id,
    store_seq
FROM page
ORDER BY occurred_at DESC, store_seq DESC
