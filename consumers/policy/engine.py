"""Evaluating rule sets over a batch of stored events: the code live evaluation and backtests share.

``evaluate`` fills the ``policy_hits`` scratch table; the ``policy_hit_decisions``
view keeps the first match per rule version and subject in store order. The live
projection writes those to ``policy_decisions`` (and enforcement acts on them);
a backtest only reads them, so it has no side effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from agenttrail.consumers.policy.conditions import build_policy_events, matching_query
from agenttrail.consumers.policy.rules import RuleSet
from agenttrail.consumers.store import sql


@dataclass(frozen=True)
class LoadedSet:
    tenant: str  # the tenant its events must belong to, or '*'
    name: str
    rules: RuleSet
    from_seq: int = 0  # it judges events stored after this store_seq
    to_seq: int | None = None  # and before this one (None: while it is in force)


def evaluate(tx: duckdb.DuckDBPyConnection, sets: Sequence[LoadedSet], events: pa.Table) -> None:
    """Add every (rule, event) match among ``events`` (EVENT_SCHEMA rows) to ``policy_hits``."""
    build_policy_events(tx, events)
    insert = sql("policy_hits_insert")
    for loaded in sets:
        for rule in loaded.rules.rules:
            statement = insert.replace("{matching}", matching_query(rule))
            tx.execute(statement, {
                "tenant": loaded.tenant, "from_seq": loaded.from_seq, "to_seq": loaded.to_seq,
                "set_name": loaded.name, "rule_id": rule.id, "rule_version": rule.version,
                "rules_sha256": loaded.rules.sha256, "action": rule.action, "mode": rule.mode,
                "severity": rule.severity, "reason": rule.description,
            }).fetchall()
