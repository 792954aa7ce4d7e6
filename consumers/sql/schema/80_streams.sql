-- The streams projection: completeness of every emitter's hash chain (consumers/projections/streams.py).

-- Per stream: the highest sequence number stored so far and the event that holds it (its hash is what
-- the next seq must chain to), so in-order arrivals are checked without reading the stream's history.
CREATE TABLE IF NOT EXISTS stream_heads (
    stream_id       VARCHAR PRIMARY KEY,
    max_seq         BIGINT NOT NULL,
    head_event_id   VARCHAR NOT NULL,
    head_hash       VARCHAR NOT NULL,
    head_prev_hash  VARCHAR,
    head_store_seq  BIGINT NOT NULL,
    events          BIGINT NOT NULL
);

-- Sequence numbers skipped when a higher one was stored (opened_at = that event's store_seq).
-- arrived counts late arrivals inside the range; closed_at is the store_seq that completed it.
CREATE TABLE IF NOT EXISTS stream_gaps (
    stream_id   VARCHAR NOT NULL,
    first_seq   BIGINT NOT NULL,
    last_seq    BIGINT NOT NULL,
    opened_at   BIGINT NOT NULL,
    revealed_by VARCHAR NOT NULL,
    arrived     BIGINT NOT NULL,
    closed_at   BIGINT
);

-- What the producers said they dropped: one row per stored audit.gap event.
CREATE TABLE IF NOT EXISTS stream_gap_declarations (
    stream_id VARCHAR NOT NULL,
    first_seq BIGINT,
    last_seq  BIGINT,
    dropped   BIGINT,
    reason    VARCHAR,
    event_id  VARCHAR NOT NULL,
    store_seq BIGINT NOT NULL
);

-- Links that do not hold: prev_hash_mismatch (event's prev_hash is not its predecessor's hash)
-- or duplicate_seq (a second event claims a stored sequence number). detected_at = store_seq.
CREATE TABLE IF NOT EXISTS stream_breaks (
    stream_id         VARCHAR NOT NULL,
    stream_seq        BIGINT NOT NULL,
    event_id          VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL,
    claimed_prev_hash VARCHAR,
    found_hash        VARCHAR,
    other_event_id    VARCHAR NOT NULL,
    detected_at       BIGINT NOT NULL
);
