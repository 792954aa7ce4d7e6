-- How many buckets passed their bar in this batch (spike_detect.sql).
SELECT count(*) FROM spike_hits
