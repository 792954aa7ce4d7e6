-- The first store_seq of the batch ($first_seq..$last_seq) where a revocation or suspension started or was
-- lifted before the batch's last event ($last_event_seq): the events after it were judged without it.
-- NULL when there is none, the common case.
SELECT min(seq) FROM (
    SELECT valid_from_seq AS seq FROM enforcement WHERE valid_from_seq BETWEEN $first_seq AND $last_seq
    UNION ALL
    SELECT valid_to_seq FROM enforcement WHERE valid_to_seq BETWEEN $first_seq AND $last_seq
)
WHERE seq < $last_event_seq
