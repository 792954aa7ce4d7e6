-- Re-root every node of each linked subtree in one pass: prepend the prefix to its path.
UPDATE chain_nodes AS n
SET root_id = r.prefix[1], depth = n.depth + len(r.prefix), path = r.prefix || n.path
FROM chain_resolved AS r
WHERE n.root_id = r.child
