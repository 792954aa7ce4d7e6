-- Anomaly flags raised by the detectors, newest first: what, who, how far past the bar, and the evidence.
-- param tenant: text -- tenant; omitted means every tenant
-- param kind: text -- detector, e.g. spend_spike, rate_spike, new_behaviour, token_origin, region_violation
-- param since: timestamp -- earliest last_seen, inclusive (30m, 2h, 7d or an ISO date)
-- param status: text -- open (not acknowledged) or acknowledged; omitted means both
-- param flag_id: text -- only this flag
-- param limit: int = 1000 -- maximum rows
SELECT
    f.raised_at,
    f.tenant,
    f.kind,
    f.severity,
    round(f.score, 2) AS score,
    replace(f.summary, regexp_extract(f.summary, 'sealed:[0-9a-f]{24}:[0-9a-f]{32}'),
            unseal(regexp_extract(f.summary, 'sealed:[0-9a-f]{24}:[0-9a-f]{32}'))) AS summary,
    f.scope,
    f.first_seen,
    f.last_seen,
    f.hits,
    CASE WHEN a.flag_id IS NULL THEN 'open' ELSE 'acknowledged' END AS status,
    a.acked_by,
    a.note,
    f.evidence_event_ids,
    f.flag_id
FROM anomaly_flags AS f
LEFT JOIN (SELECT flag_id, arg_max(acked_by, store_seq) AS acked_by, arg_max(note, store_seq) AS note
           FROM anomaly_acks GROUP BY flag_id) AS a USING (flag_id)
WHERE ($tenant::VARCHAR IS NULL OR f.tenant = $tenant::VARCHAR)
  AND ($kind::VARCHAR IS NULL OR f.kind = $kind::VARCHAR)
  AND ($since::TIMESTAMPTZ IS NULL OR f.last_seen >= $since::TIMESTAMPTZ)
  AND ($status::VARCHAR IS NULL OR $status::VARCHAR = CASE WHEN a.flag_id IS NULL THEN 'open' ELSE 'acknowledged' END)
  AND ($flag_id::VARCHAR IS NULL OR f.flag_id = $flag_id::VARCHAR)
ORDER BY f.raised_seq DESC, f.flag_id
LIMIT $limit::BIGINT
