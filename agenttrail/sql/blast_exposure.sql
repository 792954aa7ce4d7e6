-- When $fingerprint was exposed, as its leak reports received by $as_of say: the earliest exposure given (the
-- blast radius starts there), or NULL when no report gave one.
SELECT min(exposed_at) AS exposed_at
FROM leak_reports
WHERE fingerprint = $fingerprint AND reported_at <= $as_of
