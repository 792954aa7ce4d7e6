-- Retention (consumers/projections/retention.py): each tenant's period as history, the runs that removed events,
-- and the derived tables as they stood at the newest run, which a rebuild starts from (events it removed cannot be
-- replayed).

-- Each tenant's retention period as history: one row per retention.set / retention.clear, open while in force.
-- days NULL: kept without limit.
CREATE TABLE IF NOT EXISTS retention_periods (
    tenant           VARCHAR NOT NULL,
    days             DECIMAL(12, 6),
    valid_from_seq   BIGINT NOT NULL,
    valid_to_seq     BIGINT,
    valid_from       TIMESTAMPTZ NOT NULL,
    valid_to         TIMESTAMPTZ,
    set_by           VARCHAR NOT NULL,
    reason           VARCHAR,
    control_event_id VARCHAR NOT NULL
);

-- One signed statement per retention run, tenant and checkpoint it removed events from: it removed `removed`
-- sealed events received before `cutoff`; removed_digest is the SHA-256 over their (store_seq, event_id, leaf as
-- recorded at sealing), in store order, so verify can tell their absence from a deletion, and an archive digest
-- carries its checkpoint's statements. Signed by the checkpoints' key (agenttrail.checkpoint.RetentionRun).
CREATE TABLE IF NOT EXISTS retention_runs (
    run_id            VARCHAR NOT NULL,  -- the retention.run control event
    tenant            VARCHAR NOT NULL,
    checkpoint_id     BIGINT NOT NULL,
    store_seq         BIGINT NOT NULL,   -- the run's place in the store order
    days              VARCHAR NOT NULL,  -- the period, as the decimal text of its days
    cutoff            VARCHAR NOT NULL,  -- ISO time: events received before it were removed
    removed           BIGINT NOT NULL,
    first_removed_seq BIGINT,
    last_removed_seq  BIGINT,
    removed_digest    VARCHAR NOT NULL,
    ran_at            VARCHAR NOT NULL,
    key_id            VARCHAR NOT NULL,
    digest            VARCHAR NOT NULL,
    signature         VARCHAR NOT NULL,
    PRIMARY KEY (run_id, tenant, checkpoint_id)
);

-- Which sealed events each run removed; their leaves stay in checkpoint_leaves, so roots and proofs still hold.
CREATE TABLE IF NOT EXISTS retention_removed (
    run_id        VARCHAR NOT NULL,
    tenant        VARCHAR NOT NULL,
    checkpoint_id BIGINT NOT NULL,
    store_seq     BIGINT NOT NULL,
    event_id      VARCHAR NOT NULL
);

-- Copies of every projection table as it stood after the newest run that removed events (store_meta key
-- retention_baseline_seq: the first store_seq it does not include), replaced by each such run.
CREATE SCHEMA IF NOT EXISTS retention_baseline;
