-- Every erasure applied, for the archive's keys file.
SELECT event_id, store_seq, tenant, subject_digest, requested_at, erased_at, keys_destroyed FROM erasures
ORDER BY store_seq
