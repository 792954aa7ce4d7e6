-- Governance changes from the control topic, in the same total order (store_seq) as the events.
CREATE TABLE IF NOT EXISTS control_events (
    store_seq       BIGINT NOT NULL,
    event_id        VARCHAR PRIMARY KEY,
    received_at     TIMESTAMPTZ NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    tenant          VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    actor_kind      VARCHAR NOT NULL,
    actor_id        VARCHAR NOT NULL,
    via             VARCHAR NOT NULL,
    reason          VARCHAR,
    payload         JSON NOT NULL,
    event_hash      VARCHAR NOT NULL,
    kafka_topic     VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset    BIGINT NOT NULL,
    raw             BLOB NOT NULL
);
