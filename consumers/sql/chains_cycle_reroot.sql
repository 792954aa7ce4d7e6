-- Write back the positions chains.py computed for the nodes of a broken cycle.
UPDATE chain_nodes AS n
SET root_id = c.path[1], depth = len(c.path) - 1, path = c.path
FROM chain_cycle AS c
WHERE n.event_id = c.event_id
