-- Token lineage and enforcement (revocations, suspensions): consumers/projections/enforcement.py.

-- Every token fingerprint seen on an event, with the token it was minted from (a token.issue event's
-- parent_token_fingerprint), where that link was learned, and the agent that first held it. Parents never
-- seen themselves get a row too.
CREATE TABLE IF NOT EXISTS token_lineage (
    fingerprint        VARCHAR PRIMARY KEY,
    tenant             VARCHAR NOT NULL,
    parent_fingerprint VARCHAR,
    holder_agent_id    VARCHAR,           -- NULL for a parent known only as a parent
    issuer             VARCHAR,
    token_id           VARCHAR,
    first_seq          BIGINT NOT NULL,   -- where it entered the lineage (store order)
    first_event_id     VARCHAR NOT NULL,
    first_seen         TIMESTAMPTZ NOT NULL,  -- that event's occurred_at
    first_received     TIMESTAMPTZ NOT NULL,  -- and its received_at
    -- The first event that named its parent: often its first (a token.issue), later when the token was seen
    -- before its own issue (as another's parent, or in use). A revocation reaches it through the parent only
    -- from there on in store order, whatever the batches.
    parent_seq         BIGINT,
    parent_event_id    VARCHAR,
    parent_received    TIMESTAMPTZ
);

-- History, not overwrite: one row per revocation or suspension, closed (valid_to_*) when reinstated.
-- A token minted from a revoked token is revoked at its own first_seq, with the same root, so a
-- revoked lineage stays revoked.
CREATE TABLE IF NOT EXISTS enforcement (
    subject_kind   VARCHAR NOT NULL,      -- token | agent
    subject        VARCHAR NOT NULL,      -- the fingerprint, or the agent id
    tenant         VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,      -- revoked | suspended
    valid_from_seq BIGINT NOT NULL,       -- the cause's store_seq
    valid_from     TIMESTAMPTZ NOT NULL,  -- the cause's received_at
    reason         VARCHAR NOT NULL,
    rule_id        VARCHAR,               -- the policy rule or budget that decided it; NULL when a person did
    cause_event_id VARCHAR NOT NULL,      -- the control event, or the event that triggered the rule
    decided_by     VARCHAR NOT NULL,      -- human:alice, policy:<rule>, budget:<id>
    root           VARCHAR,               -- tokens: the fingerprint a cascade started from
    valid_to_seq   BIGINT,
    valid_to       TIMESTAMPTZ,
    lifted_by      VARCHAR,
    lift_reason    VARCHAR,
    lift_event_id  VARCHAR,
    PRIMARY KEY (subject_kind, subject, valid_from_seq)
);

CREATE OR REPLACE VIEW enforcement_in_force AS
SELECT * FROM enforcement WHERE valid_to_seq IS NULL;

-- What the revocations topic carries: a notice when a revocation or suspension starts and when it is
-- lifted (the newest per key is the state). notice_id is stable, so a redelivery is recognisable.
-- decided_by is not on the topic (the Avro schema leaves it out); the server's in-memory state keeps it.
CREATE OR REPLACE VIEW enforcement_notices AS
SELECT cause_event_id || ':' || subject AS notice_id, valid_from_seq AS store_seq, valid_from AS issued_at,
       tenant, subject_kind, subject, status, reason, rule_id, cause_event_id, root, decided_by
FROM enforcement
UNION ALL
SELECT lift_event_id || ':' || subject, valid_to_seq, valid_to, tenant, subject_kind, subject, 'reinstated',
       lift_reason, NULL, lift_event_id, root, lifted_by
FROM enforcement
WHERE valid_to_seq IS NOT NULL;
