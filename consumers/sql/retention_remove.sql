-- Remove the events of one run and tenant (batch_removed: run_id, tenant, checkpoint_id, store_seq, event_id),
-- recording which, and the unsealed values ($tenant's keys) no remaining event of the tenant refers to: a person's
-- id or address is kept no longer than the events that hold it.
INSERT INTO retention_removed SELECT run_id, tenant, checkpoint_id, store_seq, event_id FROM batch_removed;

DELETE FROM events AS e USING batch_removed AS r WHERE e.store_seq = r.store_seq AND e.event_id = r.event_id;

DELETE FROM sealed_values
WHERE key_id IN (SELECT key_id FROM subject_keys WHERE tenant = $tenant)
  AND ref NOT IN (
      SELECT principal_id FROM events WHERE tenant = $tenant AND starts_with(principal_id, 'sealed:')
      UNION ALL
      SELECT source_address FROM events WHERE tenant = $tenant AND starts_with(source_address, 'sealed:')
      UNION ALL
      SELECT a.id FROM (SELECT unnest(actor_chain) AS a FROM events WHERE tenant = $tenant)
      WHERE starts_with(a.id, 'sealed:'));
