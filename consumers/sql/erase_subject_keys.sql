-- Destroy the stored copy of every live key an erasure covers: its subject, its tenant (or every tenant for *),
-- made no later than the request. Run after new keys and after new erasures, so a key that arrives after its
-- subject's erasure, having been made before it, is destroyed on arrival. Returns the keys and their erasure.
UPDATE subject_keys AS k
SET wrapped = NULL, erased_by = e.event_id, erased_at = e.erased_at
FROM erasures AS e
WHERE k.wrapped IS NOT NULL AND k.subject_digest = e.subject_digest AND e.tenant IN ('*', k.tenant)
  AND k.created_at <= e.requested_at
RETURNING k.key_id, k.erased_by
