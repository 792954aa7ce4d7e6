-- Keep what each audit.gap event declares dropped (attributes written by producers/derived_events.py).
INSERT INTO stream_gap_declarations
SELECT stream_id, TRY_CAST(attributes['first_seq'] AS BIGINT), TRY_CAST(attributes['last_seq'] AS BIGINT),
       TRY_CAST(attributes['dropped_events'] AS BIGINT), attributes['reason'], event_id, store_seq
FROM stream_batch
WHERE action_type = 'audit.gap'
