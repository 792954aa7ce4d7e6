-- This batch's hits (anomaly_hits) become flags. Hits of one kind and series belong to one episode while
-- each comes within gap_us of the latest occurred_at before it (the series' latest flag's last_seen, or a
-- hit stored earlier in this batch), extending that flag; a new episode raises a new flag, named by kind,
-- series and its first event. All in store order. "Latest" is the running maximum, never merely the hit
-- stored just before: a hit may have occurred earlier than one stored before it (late data), and the
-- flags must not depend on whether the two shared a batch (a rebuild replays in other batches).

CREATE OR REPLACE TEMP TABLE hit_episodes AS
WITH latest AS (
    SELECT f.kind, f.series, arg_max(f.flag_id, f.last_seq) AS open_flag, max(f.last_seen) AS last_seen
    FROM anomaly_flags AS f
    SEMI JOIN (SELECT DISTINCT kind, series FROM anomaly_hits) AS h USING (kind, series)
    GROUP BY ALL
),
ordered AS (
    SELECT h.*, l.open_flag,
           greatest(max(h.occurred_at) OVER (PARTITION BY h.kind, h.series ORDER BY h.store_seq, h.summary
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                    l.last_seen) AS previous
    FROM anomaly_hits AS h
    LEFT JOIN latest AS l USING (kind, series)
)
SELECT *,
       sum(CASE WHEN previous IS NULL OR epoch_us(occurred_at) - epoch_us(previous) > gap_us THEN 1 ELSE 0 END)
           OVER (PARTITION BY kind, series ORDER BY store_seq, summary ROWS UNBOUNDED PRECEDING) AS episode
FROM ordered;

INSERT INTO anomaly_flags BY NAME
SELECT
    kind || ':' || series || ':' || first(event_id ORDER BY store_seq, summary) AS flag_id,
    kind, series,
    first(tenant ORDER BY store_seq, summary) AS tenant,
    first(scope ORDER BY store_seq, summary) AS scope,
    first(agent_id ORDER BY store_seq, summary) AS agent_id,
    rank_severity(max(severity_rank(severity))) AS severity,
    max(score) AS score,
    first(summary ORDER BY store_seq, summary) AS summary,
    first_twenty(flatten(list(evidence ORDER BY store_seq, summary))) AS evidence_event_ids,
    min(occurred_at) AS first_seen, max(occurred_at) AS last_seen, count(*) AS hits,
    min(store_seq) AS raised_seq,
    first(received_at ORDER BY store_seq, summary) AS raised_at,
    max(store_seq) AS last_seq
FROM hit_episodes
WHERE episode > 0
GROUP BY kind, series, episode;

UPDATE anomaly_flags AS f
SET first_seen = least(f.first_seen, u.first_seen), last_seen = greatest(f.last_seen, u.last_seen),
    last_seq = u.last_seq, hits = f.hits + u.hits,
    score = greatest(f.score, u.score),
    severity = rank_severity(greatest(severity_rank(f.severity), u.severity_rank)),
    evidence_event_ids = first_twenty(list_concat(f.evidence_event_ids, u.evidence))
FROM (SELECT open_flag, min(occurred_at) AS first_seen, max(occurred_at) AS last_seen, max(store_seq) AS last_seq,
             count(*) AS hits,
             max(score) AS score, max(severity_rank(severity)) AS severity_rank,
             flatten(list(evidence ORDER BY store_seq, summary)) AS evidence
      FROM hit_episodes WHERE episode = 0 GROUP BY open_flag) AS u
WHERE f.flag_id = u.open_flag;
