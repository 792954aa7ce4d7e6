-- Waiting events that are linked now stop waiting.
DELETE FROM chain_pending WHERE event_id IN (SELECT child FROM chain_links)
