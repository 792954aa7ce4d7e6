-- The batch's subject keys (batch_keys), stored once each: a key sent again (a retried send) changes nothing.
INSERT INTO subject_keys BY NAME SELECT * FROM batch_keys ON CONFLICT DO NOTHING
