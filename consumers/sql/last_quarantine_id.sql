SELECT max(quarantine_id) FROM quarantine
