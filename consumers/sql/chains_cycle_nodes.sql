-- Every node of the subtrees whose links close a cycle: the part chains.py re-roots by hand.
SELECT event_id, path FROM chain_nodes WHERE root_id IN (SELECT unnest($children::VARCHAR[]))
