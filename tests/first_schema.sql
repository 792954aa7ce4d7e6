-- The store's schema as the first release (commit 0328812, 2026-11-23) wrote it: schema version 1.
-- Kept verbatim so tests/test_store.py can prove that such a store migrates.
-- The store's tables. Every statement is idempotent: the store opens by running this file.
CREATE TABLE IF NOT EXISTS store_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- One row per accepted event, in the store's total order (store_seq), raw bytes kept as evidence.
CREATE TABLE IF NOT EXISTS events (
    store_seq                BIGINT NOT NULL,
    event_id                 VARCHAR PRIMARY KEY,
    received_at              TIMESTAMPTZ NOT NULL,
    occurred_at              TIMESTAMPTZ NOT NULL,
    tenant                   VARCHAR NOT NULL,
    agent_id                 VARCHAR NOT NULL,
    agent_version            VARCHAR NOT NULL,
    agent_model              VARCHAR,
    agent_runtime            VARCHAR,
    agent_region             VARCHAR NOT NULL,
    principal_kind           VARCHAR NOT NULL,
    principal_id             VARCHAR NOT NULL,
    actor_chain              STRUCT(kind VARCHAR, id VARCHAR)[] NOT NULL,
    session_id               VARCHAR,
    trace_id                 VARCHAR NOT NULL,
    span_id                  VARCHAR NOT NULL,
    parent_span_id           VARCHAR,
    parent_event_id          VARCHAR,
    action_type              VARCHAR NOT NULL,
    action_name              VARCHAR NOT NULL,
    phase                    VARCHAR NOT NULL,
    resource_kind            VARCHAR,
    resource_id              VARCHAR,
    resource_region          VARCHAR,
    outcome                  VARCHAR NOT NULL,
    error_code               VARCHAR,
    error_message            VARCHAR,
    duration_us              BIGINT,
    token_id                 VARCHAR,
    token_fingerprint        VARCHAR,
    token_issuer             VARCHAR,
    token_scopes             VARCHAR[],
    parent_token_fingerprint VARCHAR,
    cost_amount              DECIMAL(38, 9),
    cost_currency            VARCHAR,
    input_tokens             BIGINT,
    output_tokens            BIGINT,
    data_region              VARCHAR,
    source_address           VARCHAR,
    attributes               MAP(VARCHAR, VARCHAR) NOT NULL,
    stream_id                VARCHAR NOT NULL,
    stream_seq               BIGINT NOT NULL,
    prev_hash                VARCHAR,
    event_hash               VARCHAR NOT NULL,
    schema_fingerprint       VARCHAR NOT NULL,
    kafka_topic              VARCHAR NOT NULL,
    kafka_partition          INTEGER NOT NULL,
    kafka_offset             BIGINT NOT NULL,
    raw                      BLOB NOT NULL
);

-- Input we could not accept, with the reason. raw is NULL when it held a secret (raw_sha256 stays).
CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id   BIGINT PRIMARY KEY,
    received_at     TIMESTAMPTZ NOT NULL,
    kafka_topic     VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset    BIGINT NOT NULL,
    reason          VARCHAR NOT NULL,
    detail          VARCHAR NOT NULL,
    event_id        VARCHAR,
    tenant          VARCHAR,
    raw             BLOB,
    raw_sha256      VARCHAR NOT NULL,
    redacted        BOOLEAN NOT NULL
);

-- Where each partition's reading resumes; written in the same transaction as the rows.
CREATE TABLE IF NOT EXISTS consumer_offsets (
    topic       VARCHAR NOT NULL,
    "partition" INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    topic_id    VARCHAR NOT NULL,
    PRIMARY KEY (topic, "partition")
);

-- Records to publish after the batch commits (dead letters now, alerts and revocations later).
CREATE TABLE IF NOT EXISTS outbox (
    outbox_id    BIGINT PRIMARY KEY,
    topic        VARCHAR NOT NULL,
    key          BLOB,
    value        BLOB NOT NULL,
    headers      MAP(VARCHAR, VARCHAR) NOT NULL,
    published_at TIMESTAMPTZ
);

-- Events whose id was already stored: identical resends are counted, conflicting ones quarantined.
CREATE TABLE IF NOT EXISTS ingest_counters (
    name  VARCHAR PRIMARY KEY,
    value BIGINT NOT NULL
);

