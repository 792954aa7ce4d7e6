-- Store the batch's positions.
INSERT INTO chain_nodes (event_id, tenant, parent_event_id, root_id, depth, path)
SELECT event_id, tenant, parent_event_id, root_id, depth, path FROM chain_fresh
