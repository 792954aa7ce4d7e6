-- The new row for a policy.load or policy.remove at store_seq $seq; only an active set stays open.
INSERT INTO policy_sets VALUES ($tenant, $name, $sha256, $text, $rules, $status, $error, $seq, $at,
                                CASE WHEN $status = 'active' THEN NULL ELSE $seq END,
                                CASE WHEN $status = 'active' THEN NULL ELSE $at END,
                                $loaded_by, $reason, $control_event_id);
