-- The links chain_resolved left out: each lies on, or leads into, a cycle of parent claims.
SELECT child, parent FROM chain_links WHERE child NOT IN (SELECT child FROM chain_resolved)
