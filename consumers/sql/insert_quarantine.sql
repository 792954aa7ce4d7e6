INSERT INTO quarantine BY NAME SELECT * FROM batch_quarantine
