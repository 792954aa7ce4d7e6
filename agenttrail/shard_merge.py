"""How each named query's answers from several shards become one answer, as one store would give it.

A tenant's rows all live in one shard (the partition key is the tenant), so a query asked
for one tenant goes to its owner alone and needs no rule here. Asked across tenants, each
query has one rule, by what it answers:

- ``Lookup``: one event, chain or token, which one shard holds: the answers are put together.
- ``Listing``: rows in the query's own order, which each shard already gives: the answers are
  merged by that order (head by head, so each shard's own order is kept, and rows its store
  order decided stay in it), a row every shard holds is kept once (``dedupe``: a governance
  change for every tenant is stored by every shard), and the first ``limit`` kept. Per-tenant
  groups (spend per agent, versions) are listings too: a group never spans shards. Where a
  single store orders by its store sequence, the merge orders shards by the time the query shows
  (raised, decided, stored): two rows of different shards stored within one instant of each
  other may come in the other order than one store's arrival would have put them.
- ``Regroup``: counts that add up over shards (``agenttrail/sql/shard_merge_<name>.sql`` over the
  answers, as ``shard_rows`` with each row's ``shard`` and its place in that shard's answer, ``shard_row``).
- ``Refuse``: answers that cannot be merged (distinct counts across tenants, paging by one store's
  order): the reader says why in one sentence and asks for a tenant or one shard.

``per_store`` names parameters that are positions in one store's order (store_seq), which each
shard numbers on its own: given one, the query is refused. ``tests/test_shard_reader.py`` checks
that every named query has a rule.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from agenttrail._exceptions import UnmergeableQueryError
from agenttrail.sql import text as sql_text

ASC, DESC = False, True
_ASK = "give --param tenant=T (its shard answers alone), or ask one shard: unset AGENTTRAIL_SHARDS and name its --db"


@dataclass(frozen=True)
class Lookup:
    """What one event, chain or token is: at most one shard holds it."""

    per_store: tuple[str, ...] = ()

    def merge(self, answers: Sequence[pa.Table], limit: int | None) -> pa.Table:
        return _together(answers)


@dataclass(frozen=True)
class Listing:
    """Rows in ``order`` (column, descending?), each shard's answer already in it."""

    order: tuple[tuple[str, bool], ...]
    dedupe: str | None = None
    per_store: tuple[str, ...] = ()

    def merge(self, answers: Sequence[pa.Table], limit: int | None) -> pa.Table:
        together = _together(answers)
        offsets = [sum(answer.num_rows for answer in answers[:i]) for i in range(len(answers))]
        seen: set[Any] = set()
        chosen: list[int] = []
        repeats = together.column(self.dedupe).to_pylist() if self.dedupe else None
        for _, index in heapq.merge(*(self._keyed(answer, offset) for answer, offset in zip(answers, offsets,
                                                                                          strict=True))):
            if repeats is not None:
                if repeats[index] in seen:
                    continue
                seen.add(repeats[index])
            chosen.append(index)
            if limit is not None and len(chosen) == limit:
                break
        return together.take(pa.array(chosen, pa.int64()))

    def _keyed(self, answer: pa.Table, offset: int) -> list[tuple[_Key, int]]:
        """Each row's sort key and its place among all answers, in the shard's own order."""
        columns = [answer.column(name).to_pylist() for name, _ in self.order]
        descending = [desc for _, desc in self.order]
        return [(_Key(values, descending), offset + row) for row, values in enumerate(zip(*columns, strict=True))]


@dataclass(frozen=True)
class Regroup:
    """Answers added up by ``agenttrail/sql/shard_merge_<name>.sql``."""

    name: str
    per_store: tuple[str, ...] = ()

    def merge(self, answers: Sequence[pa.Table], limit: int | None) -> pa.Table:
        rows = _together([answer.append_column("shard", pa.array([shard] * answer.num_rows, pa.int64()))
                                .append_column("shard_row", pa.array(range(answer.num_rows), pa.int64()))
                          for shard, answer in enumerate(answers)])
        with duckdb.connect() as con:
            con.register("shard_rows", rows)
            return con.sql(sql_text(f"shard_merge_{self.name}")).to_arrow_table()


@dataclass(frozen=True)
class Refuse:
    """Answers shards cannot add up to what one store would say; ``reason`` says why."""

    reason: str
    per_store: tuple[str, ...] = ()

    def merge(self, answers: Sequence[pa.Table], limit: int | None) -> pa.Table:
        raise AssertionError("a refused query is never asked")


Rule = Lookup | Listing | Regroup | Refuse

_NEWEST_FIRST = DESC
RULES: dict[str, Rule] = {
    "access_log": Listing((("occurred_at", _NEWEST_FIRST),), dedupe="event_id"),
    "accountable": Lookup(),
    "actions_by_type": Refuse("it counts distinct agent ids across tenants, which per-shard counts cannot add up to"),
    "actions_by_version": Listing((("occurred_at", DESC),)),
    "alerts": Listing((("raised_at", _NEWEST_FIRST), ("alert_id", ASC))),
    "anomalies": Listing((("raised_at", _NEWEST_FIRST), ("flag_id", ASC))),
    "budget_forecast": Listing((("used_pct", DESC), ("tenant", ASC), ("scope", ASC))),
    "budget_status": Lookup(),  # takes a tenant: always its owner's
    "budgets": Listing((("tenant", ASC), ("budget_id", ASC))),
    "chain": Lookup(),
    "chain_summary": Lookup(),
    "control_log": Listing((("occurred_at", _NEWEST_FIRST),), dedupe="event_id"),
    "delegations": Listing((("events", DESC), ("tenant", ASC), ("delegator_id", ASC), ("delegate_id", ASC))),
    "erasures": Regroup("erasures"),
    "event": Lookup(),
    "event_stream": Lookup(),
    "events_by_tenant": Listing((("events", DESC), ("tenant", ASC)), per_store=("after_seq",)),
    "export_events": Refuse("it pages by one store's order (store_seq), which each shard numbers on its own"),
    "governance_summary": Regroup("governance_summary", per_store=("after_seq",)),
    "imported_events": Lookup(),  # takes a tenant: always its owner's
    "leak_reports": Listing((("reported_at", _NEWEST_FIRST),), dedupe="control_event_id"),
    "locality_violations": Listing((("occurred_at", DESC),)),
    "policy_decisions": Listing((("decided_at", _NEWEST_FIRST), ("decision_id", ASC))),
    "policy_sets": Listing((("loaded_at", _NEWEST_FIRST),), dedupe="control_event_id"),
    "principal": Listing((("tenant", ASC), ("delegation_depth", ASC), ("events", DESC), ("agent_id", ASC),
                          ("actor_path", ASC))),
    "quarantine": Listing((("received_at", DESC),)),
    "retention": Listing((("tenant", ASC),)),  # periods are per tenant: each kept by its owner
    "retention_runs": Listing((("ran_at", _NEWEST_FIRST), ("tenant", ASC))),
    "revocations": Listing((("valid_from", _NEWEST_FIRST), ("subject", ASC))),
    "spend_by_agent": Listing((("currency", ASC), ("spend", DESC), ("tenant", ASC), ("agent_id", ASC))),
    "spend_over_time": Listing((("bucket", ASC), ("tenant", ASC), ("agent_id", ASC), ("currency", ASC))),
    "tenant_regions": Listing((("tenant", ASC),)),
    "token_lineage": Lookup(),
    "token_status": Regroup("token_status"),
    "tokens": Listing((("first_seen", _NEWEST_FIRST),)),
    "trail": Listing((("occurred_at", DESC),)),
    "trail_search": Refuse("it pages by one store's order (store_seq), which each shard numbers on its own"),
    "used_after_revocation": Listing((("occurred_at", _NEWEST_FIRST),)),
    "versions": Listing((("tenant", ASC), ("agent_id", ASC), ("first_seen", ASC), ("agent_version", ASC))),
    "webhook_deliveries": Listing((("queued_at", DESC), ("delivery_id", ASC))),
}


def rule_for(name: str, given: set[str]) -> Rule:
    """The rule for query ``name`` asked with the parameters ``given``; UnmergeableQueryError says why not."""
    rule = RULES.get(name)
    if rule is None:
        raise UnmergeableQueryError(f"Query {name} has no rule for merging shards' answers yet; {_ASK}.")
    if isinstance(rule, Refuse):
        raise UnmergeableQueryError(f"Query {name} cannot be merged across shards: {rule.reason}; {_ASK}.")
    for param in rule.per_store:
        if param in given:
            raise UnmergeableQueryError(f"Query {name}'s parameter {param} is a position in one store's order, which "
                                        f"each shard numbers on its own; leave it out, or {_ASK}.")
    return rule


def _together(answers: Sequence[pa.Table]) -> pa.Table:
    return pa.concat_tables(answers, promote_options="permissive")


class _Key:
    """A row's sort key: each column ascending or descending, NULLs last either way (DuckDB's default)."""

    __slots__ = ("descending", "values")

    def __init__(self, values: tuple[Any, ...], descending: list[bool]) -> None:
        self.values, self.descending = values, descending

    def __eq__(self, other: object) -> bool:  # equal keys fall through to the row's place: shard, then row
        return isinstance(other, _Key) and self.values == other.values

    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, other: _Key) -> bool:
        for mine, theirs, desc in zip(self.values, other.values, self.descending, strict=True):
            if mine == theirs:
                continue
            if mine is None or theirs is None:
                return theirs is None
            return bool(mine > theirs) if desc else bool(mine < theirs)
        return False
