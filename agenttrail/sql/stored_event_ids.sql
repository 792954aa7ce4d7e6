-- Which of $ids (a tenant's events, all with occurred_at in [$since, $until]) are stored already.
-- The time range lets DuckDB skip every row group outside it (zonemaps), so the cost follows the
-- range, not the size of the store; event_keys has no time to prune by.
SELECT event_id FROM events
WHERE tenant = $tenant AND occurred_at BETWEEN $since AND $until AND list_contains($ids, event_id)
