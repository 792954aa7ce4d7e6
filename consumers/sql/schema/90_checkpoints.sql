-- Signed Merkle checkpoints over the stored events (consumers/projections/checkpoints.py).
-- Never cleared by a rebuild: they are the evidence the rebuilt state is checked against.

-- One row per checkpoint: the events store_seq first..last (tree_size of them), the RFC 9162 root of
-- their leaves, the digest of the previous checkpoint's statement (a chain), and the Ed25519 signature
-- over the canonical statement (agenttrail.signing.canonical of these columns).
CREATE TABLE IF NOT EXISTS checkpoints (
    checkpoint_id   BIGINT PRIMARY KEY,
    first_store_seq BIGINT NOT NULL,
    last_store_seq  BIGINT NOT NULL,
    tree_size       BIGINT NOT NULL,
    root            VARCHAR NOT NULL,
    prev_digest     VARCHAR,
    leaf_version    INTEGER NOT NULL,
    sealed_at       VARCHAR NOT NULL,
    key_id          VARCHAR NOT NULL,
    digest          VARCHAR NOT NULL,
    signature       VARCHAR NOT NULL
);

-- Each sealed event's leaf hash as it was at sealing, in tree order: lets verify name the row that changed.
CREATE TABLE IF NOT EXISTS checkpoint_leaves (
    checkpoint_id BIGINT NOT NULL,
    store_seq     BIGINT NOT NULL,
    event_id      VARCHAR NOT NULL,
    leaf          BLOB NOT NULL
);
