-- Undo what the policy and enforcement projections wrote after store_seq rewind_to.after in this batch: its
-- rules' and built-in rules' decisions, the revocations and suspensions started or lifted there, and the rule
-- sets loaded or removed there. Each is history keyed by store_seq, so this is the state as of that place, and
-- the rest of the batch is judged again from it (consumers/projections/decisions.py). The lineage is not
-- undone: it depends on the events alone, and applying them again changes nothing.
DELETE FROM policy_decisions WHERE store_seq > (SELECT after FROM rewind_to);
DELETE FROM enforcement WHERE valid_from_seq > (SELECT after FROM rewind_to);
UPDATE enforcement
SET valid_to_seq = NULL, valid_to = NULL, lifted_by = NULL, lift_reason = NULL, lift_event_id = NULL
WHERE valid_to_seq > (SELECT after FROM rewind_to);
DELETE FROM policy_sets WHERE valid_from_seq > (SELECT after FROM rewind_to);
UPDATE policy_sets SET valid_to_seq = NULL, valid_to = NULL WHERE valid_to_seq > (SELECT after FROM rewind_to);
