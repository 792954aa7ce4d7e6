-- Leak reports (control events leak.reported): consumers/projections/control_history.py (LEAK_REPORTS).
-- Every report is kept, of a token our events carried or not, from GitHub's secret scanning partner program
-- (agenttrail/github_secret_scanning.py) or from a person (agenttrail leak report). Never the raw token: only
-- its keyed fingerprint. The built-in rule leaked-token turns a report of a known token into a revocation of
-- its tree (policy_decisions, enforcement); `agenttrail blast-radius` reads exposed_at from here.
CREATE TABLE IF NOT EXISTS leak_reports (
    control_event_id VARCHAR PRIMARY KEY,
    store_seq        BIGINT NOT NULL,
    reported_at      TIMESTAMPTZ NOT NULL,  -- the report's received_at
    tenant           VARCHAR NOT NULL,      -- the token's, or '*' for a token no stored event carried
    fingerprint      VARCHAR NOT NULL,
    exposed_at       TIMESTAMPTZ,           -- when it became public, when the reporter knows
    source_url       VARCHAR NOT NULL,      -- where it was found ('' when not given)
    found_in         VARCHAR,               -- GitHub's source: content, commit, issue_comment, ...
    token_type       VARCHAR,               -- GitHub's type: the pattern that matched
    reporter         VARCHAR NOT NULL,
    label            VARCHAR NOT NULL,      -- true_positive | false_positive, as answered to the reporter
    reported_by      VARCHAR NOT NULL,      -- the control event's actor
    reason           VARCHAR
);
