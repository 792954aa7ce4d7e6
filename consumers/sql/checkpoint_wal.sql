-- Write the WAL into the database file now, while the materializer is idle (see IDLE_CHECKPOINT_BYTES).
CHECKPOINT;
