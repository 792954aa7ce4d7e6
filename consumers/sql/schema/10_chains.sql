-- Operation chains, kept incrementally by consumers/projections/chains.py (see its docstring).

-- One row per stored event: where it sits in its chain. path runs from the root to the event
-- itself, so root_id = path[1] and depth = len(path) - 1. parent_event_id is what the event
-- claimed; the parent it is linked to is path[-2] (none when the claimed one is absent, in
-- another tenant, or the link would close a cycle).
CREATE TABLE IF NOT EXISTS chain_nodes (
    event_id        VARCHAR PRIMARY KEY,
    tenant          VARCHAR NOT NULL,
    parent_event_id VARCHAR,
    root_id         VARCHAR NOT NULL,
    depth           INTEGER NOT NULL,
    path            VARCHAR[] NOT NULL
);
-- A chain's members by root: the chain query and re-rooting look them up through it.
CREATE INDEX IF NOT EXISTS chain_nodes_root ON chain_nodes (root_id);

-- Events whose claimed parent has not been stored yet: each is a root until its parent arrives.
CREATE TABLE IF NOT EXISTS chain_pending (
    event_id        VARCHAR PRIMARY KEY,
    tenant          VARCHAR NOT NULL,
    parent_event_id VARCHAR NOT NULL
);

-- One row per chain (per root), folded forward as events join the chain (chains_merge.sql).
CREATE TABLE IF NOT EXISTS chain_rollups (
    root_id        VARCHAR PRIMARY KEY,
    tenant         VARCHAR NOT NULL,
    events         BIGINT NOT NULL,   -- stored events; a fail_closed action's started and completed both count
    actions        BIGINT NOT NULL,   -- events minus completed events naming their started one: a pair counts once
    incomplete     BIGINT NOT NULL,   -- started events minus completed events naming one: 0 once all finished
    failures       BIGINT NOT NULL,
    denied         BIGINT NOT NULL,
    max_depth      INTEGER NOT NULL,
    first_at       TIMESTAMPTZ NOT NULL,  -- earliest start (occurred_at minus duration)
    last_at        TIMESTAMPTZ NOT NULL,  -- latest occurred_at
    duration_us    BIGINT NOT NULL,       -- last_at - first_at
    cost           MAP(VARCHAR, DECIMAL(38, 9)) NOT NULL,  -- currency -> exact total
    input_tokens   BIGINT NOT NULL,
    output_tokens  BIGINT NOT NULL,
    regions        VARCHAR[] NOT NULL,    -- agent, resource and data regions touched, sorted
    agent_versions VARCHAR[] NOT NULL     -- agent_id@version of every agent involved, sorted
);
