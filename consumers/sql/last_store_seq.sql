SELECT max(store_seq) FROM (SELECT store_seq FROM events UNION ALL SELECT store_seq FROM control_events)
