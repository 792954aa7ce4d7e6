-- Leak reports, newest first: which token (by fingerprint) was reported exposed, where and when, by whom
-- (GitHub's secret scanning or a person), and whether stored events had carried it (label true_positive: its
-- tree was revoked by the built-in rule leaked-token).
-- param tenant: text -- tenant; omitted means every tenant ('*' holds the reports of tokens never seen)
-- param fingerprint: text -- only this token's reports
-- param since: timestamp -- earliest reported_at, inclusive (30m, 2h, 7d or an ISO date)
-- param limit: int = 1000 -- maximum rows
SELECT reported_at, tenant, fingerprint, label, exposed_at, source_url, found_in, token_type, reporter,
       reported_by, reason, control_event_id
FROM leak_reports
WHERE ($tenant::VARCHAR IS NULL OR tenant = $tenant::VARCHAR)
  AND ($fingerprint::VARCHAR IS NULL OR fingerprint = $fingerprint::VARCHAR)
  AND ($since::TIMESTAMPTZ IS NULL OR reported_at >= $since::TIMESTAMPTZ)
ORDER BY store_seq DESC
LIMIT $limit::BIGINT
