-- This batch's spike hits as anomaly hits. Evidence: the hit, then the bucket's points before it
-- (spike_points, now rebuilt from the stored events by spike_evidence_range.sql), largest first, ten in all.
INSERT INTO anomaly_hits
SELECT
    h.detector, h.tenant, h.series, h.scope, h.agent_id, h.store_seq, h.event_id, h.occurred_at, h.received_at,
    h.running::DOUBLE / h.bar AS score,
    h.severity,
    printf('Agent %s: %s %s in the %d s from %s UTC, past its bar of %s (usual %s).',
           h.agent_id, round(h.running::DOUBLE, 2)::VARCHAR, h.measure, h.bucket_s,
           strftime(make_timestamp(h.bucket * h.bucket_s * 1000000), '%Y-%m-%d %H:%M:%S'),
           round(h.bar, 2)::VARCHAR, coalesce(round(h.median, 2)::VARCHAR, 'not yet known')) AS summary,
    list_concat([h.event_id], coalesce((
        SELECT list(p.event_id ORDER BY p.value DESC, p.store_seq)[1:9]
        FROM spike_points AS p
        WHERE p.detector = h.detector AND p.series = h.series AND p.store_seq BETWEEN h.bucket_first_seq AND h.store_seq - 1
          AND p.value > 0 AND epoch_us(p.occurred_at) // (h.bucket_s * 1000000) = h.bucket), [])) AS evidence,
    h.gap_us
FROM spike_hits AS h
