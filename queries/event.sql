-- One stored event with every field but its raw bytes (the console's event page; agenttrail prove has the bytes),
-- a person's sealed id and address read as their value, or [erased] (schemas/sealing.py).
-- param event_id: text required -- id of the event
-- param tenant: text -- only when the event belongs to this tenant
SELECT * EXCLUDE (raw) REPLACE (unseal(principal_id) AS principal_id, unseal_actors(actor_chain) AS actor_chain,
                               unseal(source_address) AS source_address)
FROM events
WHERE event_id = $event_id::VARCHAR AND ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
