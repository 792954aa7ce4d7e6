-- How many gaps late arrivals closed, and how many events arrived late to close them.
SELECT count(*), coalesce(sum(arrived), 0) FROM stream_gaps WHERE closed_at IS NOT NULL
