-- What the rest of the batch needs to know about its links: whether any moves a stored subtree
-- (waiting; if none, nothing stops waiting and nothing is re-rooted), and the links chain_resolved left
-- out (children, parents), each on or leading into a cycle of parent claims.
SELECT coalesce(bool_or(waiting), false), list(child) FILTER (WHERE cyclic), list(parent) FILTER (WHERE cyclic)
FROM (SELECT waiting, child, parent, child NOT IN (SELECT child FROM chain_resolved) AS cyclic FROM chain_links)
