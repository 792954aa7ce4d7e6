SELECT count(*) FROM alerts WHERE store_seq BETWEEN $first_seq AND $last_seq
