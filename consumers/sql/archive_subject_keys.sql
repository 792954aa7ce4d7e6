-- Every subject key as stored now (a destroyed one without its wrapped copy), for the archive's keys file.
SELECT key_id, tenant, subject_digest, created_at, received_at, kek_id, wrapped, erased_by, erased_at,
       kafka_topic, kafka_partition, kafka_offset
FROM subject_keys
ORDER BY key_id
