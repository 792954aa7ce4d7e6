-- Anomaly flags: one row per episode of unusual behaviour of one scope, extended while it goes on.
CREATE TABLE IF NOT EXISTS anomaly_flags (
    flag_id            VARCHAR PRIMARY KEY,   -- kind:series:the first evidence event id
    kind               VARCHAR NOT NULL,      -- the detector: spend_spike, rate_spike, new_behaviour, ...
    tenant             VARCHAR NOT NULL,
    series             VARCHAR NOT NULL,      -- what the detector keeps history of (tenant/agent|currency, token)
    scope              VARCHAR NOT NULL,      -- agent:A | token:FP
    agent_id           VARCHAR,
    severity           VARCHAR NOT NULL,      -- info | warning | critical
    score              DOUBLE NOT NULL,       -- how far past the bar (1 = at it); 1 for novelty and rules
    summary            VARCHAR NOT NULL,      -- one sentence, of the hit that raised it
    evidence_event_ids VARCHAR[] NOT NULL,    -- at most 20, oldest first
    first_seen         TIMESTAMPTZ NOT NULL,  -- occurred_at of the first hit
    last_seen          TIMESTAMPTZ NOT NULL,  -- occurred_at of the latest hit
    hits               BIGINT NOT NULL,
    raised_seq         BIGINT NOT NULL,       -- the event that raised it
    raised_at          TIMESTAMPTZ NOT NULL,  -- that event's received_at
    last_seq           BIGINT NOT NULL
);

-- Acknowledgements (control events anomaly.ack): a flag with one is no longer open.
CREATE TABLE IF NOT EXISTS anomaly_acks (
    flag_id          VARCHAR NOT NULL,
    tenant           VARCHAR NOT NULL,
    store_seq        BIGINT NOT NULL,
    acked_at         TIMESTAMPTZ NOT NULL,
    acked_by         VARCHAR NOT NULL,
    note             VARCHAR NOT NULL,
    control_event_id VARCHAR NOT NULL
);

-- Spike detectors' state: each series' time buckets (index = epoch µs // bucket µs) within its window.
-- A bucket's bar is fixed when it opens, from the buckets before it as they stood then.
CREATE TABLE IF NOT EXISTS anomaly_buckets (
    detector  VARCHAR NOT NULL,
    series    VARCHAR NOT NULL,
    bucket    BIGINT NOT NULL,
    value     DECIMAL(38, 9) NOT NULL,
    first_seq BIGINT NOT NULL,
    bar       DOUBLE,                 -- NULL: opened by late data, never judged
    median    DOUBLE,
    flagged   BOOLEAN NOT NULL,
    PRIMARY KEY (detector, series, bucket)
);

CREATE TABLE IF NOT EXISTS anomaly_series (
    detector     VARCHAR NOT NULL,
    series       VARCHAR NOT NULL,
    frontier     BIGINT NOT NULL,     -- the newest bucket seen; older than frontier - 1 is late data
    PRIMARY KEY (detector, series)
);

-- Where each spike series' history starts: its origin's first bucket. An origin is the series itself, or
-- what several series share (sensitive_burst: the agent, for its per-action-type series), so a series that
-- begins later is judged against the zeros since its origin began rather than left in a cold start.
CREATE TABLE IF NOT EXISTS anomaly_origins (
    detector     VARCHAR NOT NULL,
    origin       VARCHAR NOT NULL,
    first_bucket BIGINT NOT NULL,
    PRIMARY KEY (detector, origin)
);

-- Novelty detectors' state: what each key (an agent, a token) has been seen doing, and how much.
CREATE TABLE IF NOT EXISTS anomaly_seen (
    detector  VARCHAR NOT NULL,
    key       VARCHAR NOT NULL,
    what      VARCHAR NOT NULL,
    first_seq BIGINT NOT NULL,
    first_at  TIMESTAMPTZ,             -- occurred_at of the first time
    raised    BOOLEAN,                 -- whether the first time was a hit: then repeats within the gap are too
    PRIMARY KEY (detector, key, what)
);

CREATE TABLE IF NOT EXISTS anomaly_keys (
    detector   VARCHAR NOT NULL,
    key        VARCHAR NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    events     BIGINT NOT NULL,
    PRIMARY KEY (detector, key)
);

CREATE OR REPLACE VIEW anomaly_flags_open AS
SELECT f.* FROM anomaly_flags AS f
WHERE NOT EXISTS (SELECT 1 FROM anomaly_acks AS a WHERE a.flag_id = f.flag_id);

-- Severities compare by rank; evidence lists keep their first twenty distinct ids, in order.
CREATE OR REPLACE MACRO severity_rank(s) AS CASE s WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END;
CREATE OR REPLACE MACRO rank_severity(r) AS CASE r WHEN 3 THEN 'critical' WHEN 2 THEN 'warning' ELSE 'info' END;
CREATE OR REPLACE MACRO first_twenty(ids) AS list_filter(ids, lambda x, i: list_position(ids, x) = i)[1:20];
