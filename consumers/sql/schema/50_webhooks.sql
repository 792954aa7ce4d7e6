-- The webhook delivery log: one row per (alert, endpoint), queued in the batch that raised the alert.
-- delivery_id is the Standard Webhooks webhook-id header, so a receiver deduplicates a redelivery.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id     VARCHAR PRIMARY KEY,
    alert_id        VARCHAR NOT NULL,
    endpoint        VARCHAR NOT NULL,      -- its URL is looked up in the settings at send time: never stored
    body            VARCHAR NOT NULL,      -- the exact bytes sent (and signed) on every attempt
    status          VARCHAR NOT NULL,      -- pending | delivered | failed
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_status     INTEGER,               -- HTTP status of the last attempt, NULL when none came back
    last_error      VARCHAR,
    queued_at       TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
