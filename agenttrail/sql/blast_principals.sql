-- On whose behalf the lineage acted (blast_events): each principal, the agents that acted for it, and how much.
SELECT principal_kind, principal_id, list(DISTINCT agent_id ORDER BY agent_id) AS agents, count(*) AS events,
       min(occurred_at) AS first, max(occurred_at) AS last
FROM blast_events
GROUP BY ALL
ORDER BY events DESC, principal_id
