-- A reinstatement at store_seq $seq closes the subject's revocation or suspension in force; with $tree, also
-- every revocation in force that a cascade from this token started. The history keeps both facts.
UPDATE enforcement
SET valid_to_seq = $seq, valid_to = $at, lifted_by = $decided_by, lift_reason = $reason,
    lift_event_id = $cause_event_id
WHERE valid_to_seq IS NULL AND subject_kind = $subject_kind
  AND (subject = $subject OR ($tree AND root = $subject));
