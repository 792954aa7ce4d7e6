-- Stage (m)'s token lineage on stage (d)'s store ($agents: the agent ids in the loader's order, five tenants in
-- turn): every token.use of an agent carries that agent's token, minted from the token of the agent two
-- places above it in its tenant (agent a's parent is agent ((a // 5 - 1) // 2) * 5 + a % 5), so each tenant's
-- ten agents' tokens form one binary tree whose root is its first agent's.
UPDATE events
SET token_fingerprint = 'hmac-sha256:k1:' || printf('%064x', list_position($agents, agent_id) - 1),
    parent_token_fingerprint = CASE WHEN list_position($agents, agent_id) > 5 THEN 'hmac-sha256:k1:' || printf(
        '%064x', ((((list_position($agents, agent_id) - 1) // 5) - 1) // 2) * 5
                 + (list_position($agents, agent_id) - 1) % 5) END
WHERE action_type = 'token.use'
