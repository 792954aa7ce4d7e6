"""Token lineage and enforcement: who minted which token, and which tokens and agents are stopped.

Revocations and suspensions come from control events (a person, through the CLI
or ``POST /v1/revoke``) and from budgets whose ``on_exceed`` is suspend or revoke
(later also from policy rules); reinstatements lift them. Each is a history row
(``enforcement``), so "was this token revoked when that event used it" is a join.
Asks are applied one by one in store order, and a token that enters the lineage
from a revoked parent is revoked at its own place in that order, so a rebuild in
other batches reaches the same history. The materializer publishes the notices
(the ``enforcement_notices`` view) to the compacted revocations topic.
"""

from __future__ import annotations

from typing import Any

import duckdb

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.scripts import records, run_script, scalar

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
        tokens = events.num_rows > 0 and events["token_fingerprint"].null_count < events.num_rows
        if tokens:
            run_script(tx, "enforcement_lineage", batch_events=events)
        for ask in records(tx, "enforcement_asks", {"first_seq": first, "last_seq": last}, batch_events=events,
                           batch_control=batch.control):
            if tokens:
                self._inherit(tx, first, ask["seq"] - 1)
            params: dict[str, Any] = {key: ask[key] for key in (
                "seq", "at", "cause_event_id", "subject_kind", "subject", "tree", "reason", "decided_by")}
            if ask["verb"] == "lift":
                run_script(tx, "enforcement_lift", params)
            else:
                run_script(tx, "enforcement_start", {**params, "tenant": ask["tenant"], "verb": ask["verb"],
                                                     "rule_id": ask["rule_id"]})
        if tokens:
            self._inherit(tx, first, last)

    @staticmethod
    def _inherit(tx: duckdb.DuckDBPyConnection, first: int, upto: int) -> None:
        while scalar(tx, "enforcement_inherit", {"first_seq": first, "upto_seq": upto}):
            pass  # each run revokes one more generation minted from a revoked token

