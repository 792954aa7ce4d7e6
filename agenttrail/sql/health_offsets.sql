-- Where the materializer resumes per partition: the committed half of consumer lag.
SELECT topic, "partition", next_offset FROM consumer_offsets ORDER BY topic, "partition"
