-- What the console's live pages poll: the newest stored event and governance change (reads left out, so a
-- page refreshing itself does not make itself stale), for one tenant or all. Two numbers, no trail data.
SELECT
    (SELECT coalesce(max(store_seq), 0) FROM events
     WHERE $tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR) AS events,
    (SELECT coalesce(max(store_seq), 0) FROM control_events
     WHERE kind <> 'access.read' AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)) AS changes
