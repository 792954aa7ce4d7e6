"""Token lineage and enforcement: who minted which token, and which tokens and agents are stopped.

Revocations and suspensions come from control events (a person, through the CLI
or ``POST /v1/revoke``), from budgets whose ``on_exceed`` is suspend or revoke, and
from enforce-mode policy rules; reinstatements lift them. Each is a history row
(``enforcement``), so "was this token revoked when that event used it" is a join.
Asks are applied one by one in store order, and a token that enters the lineage
from a revoked parent is revoked at its own place in that order, so a rebuild in
other batches reaches the same history. The rules judge the batch's events run by
run between asks (``Policy.decide``): a rule that reads ``agent_suspended`` sees a
suspension stored earlier in the same batch, and one a rule decided, as a later
batch would. The materializer publishes the notices (the ``enforcement_notices``
view) to the compacted revocations topic.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow.compute as pc

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.projections.policy import Policy
from agenttrail.consumers.scripts import records, run_script, scalar

_EVENT_COLUMNS = ["store_seq", "event_id", "received_at", "occurred_at", "tenant", "agent_id",
                  "token_fingerprint", "parent_token_fingerprint", "token_issuer", "token_id"]


class Enforcement:
    name = "enforcement"
    tables = ("token_lineage", "enforcement")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy  # judges the events between asks; its decisions may ask too

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        span = batch.seq_span()
        if span is None:
            return
        first, last = span
        events = batch.events.select(_EVENT_COLUMNS)
        tokens = events.num_rows > 0 and events["token_fingerprint"].null_count < events.num_rows
        if tokens:
            run_script(tx, "enforcement_lineage", batch_events=events)
        pending = records(tx, "enforcement_asks", {"first_seq": first, "last_seq": last}, batch_events=events,
                          batch_control=batch.control)
        seqs = batch.events["store_seq"]
        start = first
        while start <= last:
            end = pending[0]["seq"] if pending else last  # judged before the next ask, which acts after it
            if tokens:
                self._inherit(tx, first, end)
            run = batch.events.filter(pc.and_(pc.greater_equal(seqs, start), pc.less_equal(seqs, end)))
            decided = self.policy.decide(tx, run) if run.num_rows else None
            if decided is not None:
                end = decided
            while pending and pending[0]["seq"] <= end:
                self._act(tx, pending.pop(0))
            if decided is not None:
                for ask in records(tx, "enforcement_policy_asks", {"seq": decided}):
                    self._act(tx, ask)
            start = end + 1
        if tokens:
            self._inherit(tx, first, last)

    @staticmethod
    def _act(tx: duckdb.DuckDBPyConnection, ask: dict[str, Any]) -> None:
        params: dict[str, Any] = {key: ask[key] for key in (
            "seq", "at", "cause_event_id", "subject_kind", "subject", "tree", "reason", "decided_by")}
        if ask["verb"] == "lift":
            run_script(tx, "enforcement_lift", params)
        else:
            run_script(tx, "enforcement_start", {**params, "tenant": ask["tenant"], "verb": ask["verb"],
                                                 "rule_id": ask["rule_id"]})

    @staticmethod
    def _inherit(tx: duckdb.DuckDBPyConnection, first: int, upto: int) -> None:
        while scalar(tx, "enforcement_inherit", {"first_seq": first, "upto_seq": upto}):
            pass  # each run revokes one more generation minted from a revoked token

