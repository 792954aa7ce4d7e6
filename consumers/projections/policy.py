"""Policy decisions: every rule set in force judges every batch, and rule-set changes are history.

Each event is judged by the sets in force at its place in the store order: a
``policy.load`` or ``policy.remove`` applies to the events stored after it, in
this batch or later, whatever the batch boundaries. A set is validated again here, because the
control topic is the record: one that fails is stored as ``rejected`` with the
line and reason, and the set before it stays in force. Enforce-mode decisions
to revoke or suspend are acted on by the ``enforcement`` projection, which runs
next; ``alert`` decisions are announced through the alerts outbox.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from agenttrail._exceptions import PolicyError
from agenttrail.consumers.batch import Batch
from agenttrail.consumers.policy.conditions import check_conditions
from agenttrail.consumers.policy.engine import LoadedSet, evaluate
from agenttrail.consumers.policy.rules import RuleSet, parse_rules
from agenttrail.consumers.scripts import records, run_script

_KINDS = ("policy.load", "policy.remove")


class Policy:
    name = "policy"
    tables = ("policy_sets", "policy_decisions")

    def __init__(self) -> None:
        self._parsed: dict[str, RuleSet] = {}  # by sha256: a set is parsed once per process

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        if batch.control.num_rows:
            for change in batch.control.filter(_is_policy_change(batch)).to_pylist():
                self._apply_change(tx, change)
        if batch.events.num_rows:
            sets = self._in_force(tx, batch.events["store_seq"][0].as_py())
            if sets:
                run_script(tx, "policy_hits_clear")
                evaluate(tx, sets, batch.events)
                run_script(tx, "policy_decisions_write")

    def _in_force(self, tx: duckdb.DuckDBPyConnection, first_seq: int) -> list[LoadedSet]:
        """The sets in force somewhere in the batch, each with the store_seq range it judges."""
        loaded = []
        for row in records(tx, "policy_sets_in_force", {"first_seq": first_seq}):
            rules = self._parsed.get(row["sha256"])
            if rules is None:
                rules = self._parsed[row["sha256"]] = parse_rules(row["text"])
            loaded.append(LoadedSet(row["tenant"], row["name"], rules, row["valid_from_seq"], row["valid_to_seq"]))
        return loaded

    def _apply_change(self, tx: duckdb.DuckDBPyConnection, change: dict[str, Any]) -> None:
        payload = json.loads(change["payload"])
        params: dict[str, Any] = {
            "tenant": change["tenant"], "name": payload["name"], "seq": change["store_seq"],
            "at": change["received_at"], "loaded_by": f"{change['actor_kind']}:{change['actor_id']}",
            "reason": change["reason"], "control_event_id": change["event_id"],
            "sha256": payload.get("sha256", ""), "text": payload.get("text", ""), "rules": 0, "error": None,
            "status": "removed" if change["kind"] == "policy.remove" else "active",
        }
        if change["kind"] == "policy.load":
            try:
                rules = parse_rules(payload["text"])
                if rules.sha256 != payload["sha256"]:
                    raise PolicyError("the rule text does not match the sha256 recorded with it.")
                check_conditions(rules)
                params["rules"] = len(rules.rules)
                self._parsed[rules.sha256] = rules
            except PolicyError as exc:
                params.update(status="rejected", error=str(exc))
        run_script(tx, "policy_set_close", {k: params[k] for k in ("seq", "at", "tenant", "name", "status")})
        run_script(tx, "policy_set_record", params)


def _is_policy_change(batch: Batch) -> pa.ChunkedArray:
    return pc.is_in(batch.control["kind"], value_set=pa.array(_KINDS))
