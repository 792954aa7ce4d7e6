-- New events whose parent is not stored (in their tenant) wait for it, as roots meanwhile.
INSERT INTO chain_pending (event_id, tenant, parent_event_id)
SELECT event_id, tenant, parent_event_id
FROM chain_batch
WHERE parent_event_id IS NOT NULL AND event_id NOT IN (SELECT child FROM chain_links)
