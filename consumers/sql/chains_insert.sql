-- Every newly stored event starts as the root of its own one-node chain.
INSERT INTO chain_nodes (event_id, tenant, parent_event_id, root_id, depth, path)
SELECT event_id, tenant, parent_event_id, event_id, 0, [event_id]
FROM chain_batch
