-- What the lineage spent (blast_events), exactly, per currency: never converted, never rounded.
SELECT cost_currency AS currency, sum(cost_amount) AS amount, count(*) AS charged_events
FROM blast_events
WHERE cost_amount IS NOT NULL
GROUP BY cost_currency
ORDER BY cost_currency
