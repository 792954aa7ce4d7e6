SELECT max(outbox_id) FROM outbox
