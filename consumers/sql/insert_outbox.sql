INSERT INTO outbox BY NAME SELECT * FROM batch_outbox
