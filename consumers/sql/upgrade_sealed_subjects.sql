-- Schema version 5 -> 6: personal fields are sealed from here on (schemas/sealing.py), and retention removes events.
-- The new tables (subject_keys, sealed_values, principal_scopes, erasures in schema/35_subjects.sql; retention's in
-- schema/96_retention.sql) are created when the store opens; no existing table changes and nothing is replayed.
-- Events stored before stay as they were written: their personal fields in the clear, readable and never erasable.
UPDATE store_meta SET value = '6' WHERE key = 'schema_version';
