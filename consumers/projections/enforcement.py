"""Token lineage and enforcement: who minted which token, and which tokens and agents are stopped.

Revocations and suspensions come from control events (a person, through the CLI
or ``POST /v1/revoke``), from budgets whose ``on_exceed`` is suspend or revoke,
and from policy decisions: the rule sets' and the built-in rules'
(``consumers/policy/builtin.py``): a leak report of a known token revokes its
tree, and a token minted from a revoked lineage is an incident and is revoked
at its own place. Reinstatements lift them. Each is a history row
(``enforcement``), so "was this token revoked when that event used it" is a join.
Asks are applied one by one in store order, and the tokens that entered the
lineage between two asks are judged by revoked-lineage just before the second,
so a rebuild in other batches reaches the same history. The built-in rules'
decisions are written here, into ``policy_decisions`` (whose owner, the policy
projection, clears it for a rebuild), because only this loop knows the
revocations as they stood at each place. The materializer publishes the notices
(the ``enforcement_notices`` view) to the compacted revocations topic.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow.compute as pc

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.policy.builtin import LEAKED_TOKEN, REVOKED_LINEAGE
from agenttrail.consumers.scripts import records, run_script

_EVENT_COLUMNS = ["store_seq", "event_id", "received_at", "occurred_at", "tenant", "agent_id",
                  "token_fingerprint", "parent_token_fingerprint", "token_issuer", "token_id"]


class Enforcement:
    name = "enforcement"
    tables = ("token_lineage", "enforcement")

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        span = batch.seq_span()
        if span is None:
            return
        first, last = span
        events = batch.events.select(_EVENT_COLUMNS)
        if events.num_rows and events["token_fingerprint"].null_count < events.num_rows:
            run_script(tx, "token_lineage_apply", batch_events=events)
        leaks = batch.control.filter(pc.equal(batch.control["kind"], "leak.reported"))
        if leaks.num_rows:
            run_script(tx, "builtin_leak_decisions", LEAKED_TOKEN.params(), batch_leaks=leaks)
        minted = events.num_rows > 0 and events["parent_token_fingerprint"].null_count < events.num_rows
        judged = first - 1  # tokens that entered the lineage up to here were judged by revoked-lineage
        asks = records(tx, "enforcement_asks", {"first_seq": first, "last_seq": last,
                                                "judged_in_loop": REVOKED_LINEAGE.id},
                       batch_events=events, batch_control=batch.control)
        for ask in asks:
            if minted:
                judged = self._judge_lineage(tx, judged, ask["seq"] - 1)
            params: dict[str, Any] = {key: ask[key] for key in (
                "seq", "at", "cause_event_id", "subject_kind", "subject", "tree", "reason", "decided_by")}
            if ask["verb"] == "lift":
                run_script(tx, "enforcement_lift", params)
            else:
                run_script(tx, "enforcement_start", {**params, "tenant": ask["tenant"], "verb": ask["verb"],
                                                     "rule_id": ask["rule_id"]})
        if minted:
            self._judge_lineage(tx, judged, last)

    @staticmethod
    def _judge_lineage(tx: duckdb.DuckDBPyConnection, judged: int, upto: int) -> int:
        """Judge the tokens that entered the lineage after ``judged`` up to ``upto``; returns the new mark."""
        if upto > judged:
            run_script(tx, "builtin_lineage_judge", {"first_seq": judged + 1, "upto_seq": upto,
                                                     **REVOKED_LINEAGE.params()})
            run_script(tx, "builtin_lineage_record")
        return max(judged, upto)

