-- The archive's keys file into a new store (restore_keys: the key rows and the erasures, as archived).
INSERT INTO subject_keys BY NAME SELECT * FROM archived_keys;
INSERT INTO erasures BY NAME SELECT * FROM archived_erasures;
