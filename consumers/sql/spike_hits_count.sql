-- How many buckets passed their bar in this batch (spike_judge.sql).
SELECT count(*) FROM spike_hits
