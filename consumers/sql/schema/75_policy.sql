-- Policy rule sets and the decisions their rules made: consumers/projections/policy.py.

-- History of rule sets (control events policy.load / policy.remove), per tenant ('*': every tenant) and name.
-- A set that failed validation is kept as 'rejected' with the reason, and the set before it stays in force.
CREATE TABLE IF NOT EXISTS policy_sets (
    tenant           VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    sha256           VARCHAR NOT NULL,      -- of the file's exact bytes
    text             VARCHAR NOT NULL,      -- the YAML, so a rebuild evaluates exactly what was loaded
    rules            INTEGER NOT NULL,
    status           VARCHAR NOT NULL,      -- active | rejected | removed
    error            VARCHAR,
    valid_from_seq   BIGINT NOT NULL,
    valid_from       TIMESTAMPTZ NOT NULL,
    valid_to_seq     BIGINT,
    valid_to         TIMESTAMPTZ,
    loaded_by        VARCHAR NOT NULL,
    reason           VARCHAR,
    control_event_id VARCHAR NOT NULL,
    PRIMARY KEY (tenant, name, valid_from_seq)
);

-- Every time a rule fired, once per rule version and subject (the token, or the agent): what it did, or in
-- dry_run what it would have done, and the event that made it fire.
CREATE TABLE IF NOT EXISTS policy_decisions (
    decision_id  VARCHAR PRIMARY KEY,       -- rule_id@version:subject
    store_seq    BIGINT NOT NULL,           -- the event that fired it
    decided_at   TIMESTAMPTZ NOT NULL,      -- that event's received_at
    tenant       VARCHAR NOT NULL,
    set_name     VARCHAR NOT NULL,
    rule_id      VARCHAR NOT NULL,
    rule_version INTEGER NOT NULL,
    rules_sha256 VARCHAR NOT NULL,
    action       VARCHAR NOT NULL,          -- alert | revoke_token | revoke_token_tree | suspend_agent
    mode         VARCHAR NOT NULL,          -- enforce | dry_run
    severity     VARCHAR NOT NULL,
    subject_kind VARCHAR NOT NULL,          -- token | agent
    subject      VARCHAR NOT NULL,
    event_id     VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL           -- the rule's description
);
