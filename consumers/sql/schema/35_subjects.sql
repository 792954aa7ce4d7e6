-- Sealed personal values (schemas/sealing.py): the subjects' data keys, what each sealed reference reads as while
-- its key lives, and the erasures that destroyed keys. Numbered before the budgets' macros, which use these.

-- Every subject key the SDK sent ahead of its events (consumers/subject_intake.py), as it arrived: neither a
-- projection nor rebuilt. wrapped (the data key and its subject, under the key-encryption key derived from the
-- fingerprint key) is set to NULL when the subject is erased; the row stays, so a view can say "[erased]" and a
-- principal's budget keeps counting the spend sealed under it, by subject_digest (the subject's HMAC under a key
-- derived from the same secret: it never leaves this table, and names no one without that secret).
CREATE TABLE IF NOT EXISTS subject_keys (
    key_id          VARCHAR PRIMARY KEY,
    tenant          VARCHAR NOT NULL,
    subject_digest  VARCHAR NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    kek_id          VARCHAR NOT NULL,
    wrapped         BLOB,
    erased_by       VARCHAR,
    erased_at       TIMESTAMPTZ,
    kafka_topic     VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset    BIGINT NOT NULL
);

-- What each sealed reference (sealed:<key id>:<pseudonym>) reads as, decrypted once from the first stored event
-- that carries it (the subjects projection): the one place a sealed value is kept in the clear, deleted when its
-- key is destroyed.
CREATE TABLE IF NOT EXISTS sealed_values (
    ref    VARCHAR PRIMARY KEY,
    key_id VARCHAR NOT NULL,
    kind   VARCHAR NOT NULL,  -- id (a principal's or actor's) | address (a source address)
    value  VARCHAR NOT NULL
);

-- The subject digest of every principal:P budget scope (the subjects projection), so a budget on a person counts
-- the spend sealed under each of their keys, erased or not.
CREATE TABLE IF NOT EXISTS principal_scopes (
    scope_id       VARCHAR PRIMARY KEY,
    subject_digest VARCHAR NOT NULL
);

-- One row per subject.erase applied, in store order; it holds the subject's digest, never the subject.
CREATE TABLE IF NOT EXISTS erasures (
    event_id       VARCHAR PRIMARY KEY,
    store_seq      BIGINT NOT NULL,
    tenant         VARCHAR NOT NULL,  -- * for every tenant
    subject_digest VARCHAR NOT NULL,
    requested_at   TIMESTAMPTZ NOT NULL,  -- the control event's occurred_at: keys made after it are not erased
    erased_at      TIMESTAMPTZ NOT NULL,
    keys_destroyed BIGINT NOT NULL
);

-- A stored value as a person may read it: a sealed reference becomes its value while its key lives, "[erased]"
-- once the key was destroyed (and "[sealed]" when no key for it was ever stored); anything else is itself.
CREATE OR REPLACE MACRO unseal(x) AS
    CASE WHEN starts_with(x, 'sealed:') THEN coalesce(
        (SELECT v.value FROM sealed_values AS v WHERE v.ref = x),
        CASE WHEN (SELECT k.wrapped IS NULL FROM subject_keys AS k WHERE k.key_id = split_part(x, ':', 2))
             THEN '[erased]' ELSE '[sealed]' END)
    ELSE x END;

-- An actor chain (list of {kind, id}) with every sealed id read as unseal() reads it.
CREATE OR REPLACE MACRO unseal_actors(chain) AS
    coalesce((SELECT list({'kind': a.kind, 'id': unseal(a.id)} ORDER BY i)
              FROM (SELECT unnest(chain) AS a, generate_subscripts(chain, 1) AS i)), []);

-- A list of ids with every sealed one read as unseal() reads it.
CREATE OR REPLACE MACRO unseal_ids(ids) AS
    coalesce((SELECT list(unseal(x) ORDER BY i) FROM (SELECT unnest(ids) AS x, generate_subscripts(ids, 1) AS i)), []);

-- The sealed references of a person's id (given as human:ID or ID) while their keys live: what a filter on a
-- principal or actor matches besides the id in the clear.
CREATE OR REPLACE MACRO sealed_refs(person) AS
    coalesce((SELECT list(v.ref) FROM sealed_values AS v
              WHERE v.kind = 'id' AND (v.value = person OR 'human:' || v.value = person)), []);

-- Whether an event's principal id (or spend_daily's) counts toward a principal:SCOPE budget: the id itself, or a
-- reference sealed under any key of the person the scope names (by subject digest, so erasure changes nothing).
CREATE OR REPLACE MACRO principal_in_scope(principal, scope) AS
    principal = scope OR (starts_with(principal, 'sealed:') AND
        (SELECT k.subject_digest FROM subject_keys AS k WHERE k.key_id = split_part(principal, ':', 2))
        = (SELECT s.subject_digest FROM principal_scopes AS s WHERE s.scope_id = scope));
