-- Budgets as history (one row per budget.set / budget.remove, open while in force; limit NULL = removed).
CREATE TABLE IF NOT EXISTS budgets (
    tenant           VARCHAR NOT NULL,
    budget_id        VARCHAR NOT NULL,   -- scope, plus |model=M when scoped to a model
    scope_kind       VARCHAR NOT NULL,   -- tenant | principal | agent | token
    scope_id         VARCHAR NOT NULL,   -- '*' with scope_kind agent: the default for every agent
    model            VARCHAR,
    limit_amount     DECIMAL(38, 9),
    currency         VARCHAR,
    period           VARCHAR,            -- day | week | month | total (UTC calendar periods)
    thresholds       INTEGER[],
    on_exceed        VARCHAR,            -- alert | suspend | revoke
    valid_from_seq   BIGINT NOT NULL,
    valid_to_seq     BIGINT,
    valid_from       TIMESTAMPTZ NOT NULL,
    valid_to         TIMESTAMPTZ,
    set_by           VARCHAR NOT NULL,
    reason           VARCHAR,
    control_event_id VARCHAR NOT NULL
);

CREATE OR REPLACE VIEW budgets_current AS
SELECT * FROM budgets WHERE valid_to_seq IS NULL AND limit_amount IS NOT NULL;

-- Exact spend per day and every dimension a budget can be scoped by ('' where an event has none).
CREATE TABLE IF NOT EXISTS spend_daily (
    tenant            VARCHAR NOT NULL,
    day               DATE NOT NULL,
    agent_id          VARCHAR NOT NULL,
    principal_id      VARCHAR NOT NULL,
    token_fingerprint VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,
    currency          VARCHAR NOT NULL,
    amount            DECIMAL(38, 9) NOT NULL,
    charged_events    BIGINT NOT NULL,
    last_seq          BIGINT NOT NULL,
    PRIMARY KEY (tenant, day, agent_id, principal_id, token_fingerprint, model, currency)
);

-- Spend that arrived after its UTC day had closed: counted in its own day, and flagged here.
CREATE TABLE IF NOT EXISTS late_spend (
    event_id    VARCHAR NOT NULL,     -- unique: each stored event is applied once
    store_seq   BIGINT NOT NULL,
    tenant      VARCHAR NOT NULL,
    agent_id    VARCHAR NOT NULL,
    day         DATE NOT NULL,
    amount      DECIMAL(38, 9) NOT NULL,
    currency    VARCHAR NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);

-- Alerts, raised once each (alert_id says what fired and where) at a place in the store order.
CREATE TABLE IF NOT EXISTS alerts (
    alert_id           VARCHAR PRIMARY KEY,
    store_seq          BIGINT NOT NULL,     -- the event that raised it
    raised_at          TIMESTAMPTZ NOT NULL, -- that event's received_at
    tenant             VARCHAR NOT NULL,
    kind               VARCHAR NOT NULL,    -- budget.threshold | budget.forecast
    severity           VARCHAR NOT NULL,    -- info | warning | critical
    summary            VARCHAR NOT NULL,
    scope              VARCHAR NOT NULL,
    budget_id          VARCHAR,
    period_start       TIMESTAMP,
    threshold_pct      INTEGER,
    limit_amount       DECIMAL(38, 9),
    spent              DECIMAL(38, 9),
    projected          DECIMAL(38, 9),
    currency           VARCHAR,
    action             VARCHAR NOT NULL,    -- what the budget asks for: alert | suspend | revoke
    top_agents         STRUCT(agent_id VARCHAR, spent DECIMAL(38, 9))[],
    top_chains         STRUCT(trace_id VARCHAR, spent DECIMAL(38, 9))[],
    evidence_event_ids VARCHAR[] NOT NULL
);
