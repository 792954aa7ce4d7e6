-- What the lineage did, by action type (blast_events): how often, how it went, first and last time.
SELECT action_type, count(*) AS events, count(*) FILTER (WHERE outcome = 'success') AS succeeded,
       count(*) FILTER (WHERE outcome = 'failure') AS failed, count(*) FILTER (WHERE outcome = 'denied') AS denied,
       min(occurred_at) AS first, max(occurred_at) AS last
FROM blast_events
GROUP BY action_type
ORDER BY events DESC, action_type
