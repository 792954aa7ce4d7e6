-- Spike points are read again from the stored events to find each hit's evidence.
DELETE FROM spike_points
