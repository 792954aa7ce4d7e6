-- One stored event with every field but its raw bytes (the console's event page; agenttrail prove has the bytes).
-- param event_id: text required -- id of the event
-- param tenant: text -- only when the event belongs to this tenant
SELECT * EXCLUDE (raw)
FROM events
WHERE event_id = $event_id::VARCHAR AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
