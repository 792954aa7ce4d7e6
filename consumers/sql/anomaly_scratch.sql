-- The scratch tables one batch's detectors fill: their points (one row per event and detector) and their
-- hits, which anomaly_flags_write.sql turns into flags. Emptied at the start of every batch. A point's origin
-- names the key whose first bucket starts its series' history (several series may share one); NULL: the
-- series itself.
CREATE OR REPLACE TEMP TABLE spike_points (
    detector VARCHAR, tenant VARCHAR, agent_id VARCHAR, series VARCHAR, origin VARCHAR, scope VARCHAR, measure VARCHAR,
    store_seq BIGINT, event_id VARCHAR, occurred_at TIMESTAMPTZ, received_at TIMESTAMPTZ, value DECIMAL(38, 9)
);
CREATE OR REPLACE TEMP TABLE novelty_points (
    detector VARCHAR, key VARCHAR, what VARCHAR, tenant VARCHAR, agent_id VARCHAR, scope VARCHAR,
    severity VARCHAR, summary VARCHAR, store_seq BIGINT, event_id VARCHAR, occurred_at TIMESTAMPTZ,
    received_at TIMESTAMPTZ
);
CREATE OR REPLACE TEMP TABLE anomaly_hits (
    kind VARCHAR, tenant VARCHAR, series VARCHAR, scope VARCHAR, agent_id VARCHAR, store_seq BIGINT,
    event_id VARCHAR, occurred_at TIMESTAMPTZ, received_at TIMESTAMPTZ, score DOUBLE, severity VARCHAR,
    summary VARCHAR, evidence VARCHAR[], gap_us BIGINT
);
