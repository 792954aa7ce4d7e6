-- Re-root the subtrees of waiting events whose parent arrived, in one pass: prepend the prefix.
UPDATE chain_nodes AS n
SET root_id = r.prefix[1], depth = n.depth + len(r.prefix), path = r.prefix || n.path
FROM chain_resolved AS r
WHERE r.waiting AND n.root_id = r.child
