"""Policy decisions: every rule set in force judges every event, and rule-set changes are history.

Each event is judged by the sets in force at its place in the store order: a
``policy.load`` or ``policy.remove`` applies to the events stored after it, in
this batch or later, whatever the batch boundaries. A set is validated again here, because the
control topic is the record: one that fails is stored as ``rejected`` with the
line and reason, and the set before it stays in force. ``apply`` records the
batch's set changes; the events are judged by ``decide``, which the ``enforcement``
projection (next) calls for each run of events between two changes of who is
stopped, so that a condition on ``token_revoked`` or ``agent_suspended`` sees a
revocation or suspension from earlier in the same batch (a control event, a
budget, or a rule's own decision) exactly as it would in a later one. Enforce-mode
decisions to revoke or suspend are acted on there; ``alert`` decisions are
announced through the alerts outbox.
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
from agenttrail.consumers.scripts import records, run_script, scalar

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

    def decide(self, tx: duckdb.DuckDBPyConnection, events: pa.Table) -> int | None:
        """Judge ``events`` (a run of a batch's events, in store order) and record the decisions.

        Returns the store_seq of the first new enforce-mode revocation or suspension, and records
        no decision after it: once enforcement has acted on it, the events after it must be
        judged again. None when every event was judged.
        """
        sets = self._in_force(tx, events["store_seq"][0].as_py())
        if not sets:
            return None
        run_script(tx, "policy_hits_clear")
        evaluate(tx, sets, events)
        stop: int | None = scalar(tx, "policy_first_enforcing")
        run_script(tx, "policy_decisions_write", {"upto_seq": stop})
        return stop

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
