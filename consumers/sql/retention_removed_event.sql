-- The retention run that removed an event, if one did.
SELECT run_id, tenant FROM retention_removed WHERE event_id = $event_id
