"""Operation chains, materialized as events arrive: each event's root, depth and path, and per-chain rollups.

Agents emit a child before its parent (a ``with`` block ends inside its parent's),
so arrival out of order is the normal case, not an edge case. Every new event starts
as a one-node chain. When its claimed parent is stored in the same tenant, its
subtree is re-rooted under the parent in one set-based UPDATE (the parent's path is
prepended); when the parent is not stored yet, the event waits in ``chain_pending``
and is re-rooted the moment the parent arrives. Links made in one batch are resolved
together (``chains_resolve.sql``), so batch boundaries never change the result.

The tables are a function of the set of stored events alone, whatever order they
arrived in: a node's parent is the event its ``parent_event_id`` names, if stored in
the same tenant and not the node itself; a node without one is a root; on a cycle of
claims (only forged events make one) the member with the smallest event id is the
root. So shuffled arrival converges, and ``agenttrail rebuild`` reproduces the tables.
A forged parent in another tenant is never linked: the child stays a root (and stays in
``chain_pending``, like an event naming itself, since no parent can ever arrive for it).

Rollups (``chain_rollups``) are folded, never recomputed from old events: a chain's new
rollup is its old one, plus those of the subtrees that moved under it, plus the batch's
events (``chains_merge.sql``). A ``fail_closed`` action's ``started`` and ``completed``
events are two nodes under the same parent here; rollups and the ``chain`` query pair
them by the completed event's ``attributes['started_event_id']``, showing one action.

Cost per batch: eight to eleven statements over the batch-sized scratch tables (those that
move stored subtrees only when a link does), plus hash joins that scan ``chain_nodes``
(parent lookup, members of moved subtrees) and ``chain_rollups`` (old rollups). The
statements' fixed cost dominates at live batch sizes.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from agenttrail.consumers.batch import Batch
from agenttrail.consumers.store import sql

_ROLLUP_STEPS = ("chains_merge", "chains_rollups_clear", "chains_rollups")
_BATCH_COLUMNS = ["event_id", "tenant", "parent_event_id", "phase", "outcome", "occurred_at", "duration_us",
                  "cost_amount", "cost_currency", "input_tokens", "output_tokens", "agent_id", "agent_version",
                  "agent_region", "resource_region", "data_region", "attributes"]
_CYCLE_SCHEMA = pa.schema([("event_id", pa.string()), ("path", pa.list_(pa.string()))])


class ChainsProjection:
    """Keeps ``chain_nodes``, ``chain_pending`` and ``chain_rollups`` in step with the events."""

    name = "chains"
    tables = ("chain_nodes", "chain_pending", "chain_rollups")

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        if batch.events.num_rows == 0:
            return
        tx.register("chain_batch", batch.events.select(_BATCH_COLUMNS))
        tx.execute(sql("chains_links"))
        tx.execute(sql("chains_resolve"))
        [(waiting, children, parents)] = tx.execute(sql("chains_link_summary")).fetchall()
        # Steps that only move stored subtrees are skipped when no link does; so is waiting when no
        # event names a parent.
        if waiting:
            tx.execute(sql("chains_unpend"))
        if batch.events["parent_event_id"].null_count < batch.events.num_rows:
            tx.execute(sql("chains_pend"))
        tx.execute(sql("chains_fresh"))
        tx.execute(sql("chains_insert_nodes"))
        if waiting:
            tx.execute(sql("chains_reroot"))
        if children:
            _break_cycles(tx, dict(zip(children, parents, strict=True)))
        for step in _ROLLUP_STEPS:
            tx.execute(sql(step))
        # Not in a finally: after a failure the transaction is aborted anyway. The scratch tables
        # (chain_links, chain_resolved, chain_fresh, chain_merged) are replaced by the next batch.
        tx.unregister("chain_batch")


def _break_cycles(tx: duckdb.DuckDBPyConnection, links: dict[str, str]) -> None:
    """Re-root the subtrees whose links (child -> claimed parent) lie on or lead into a cycle.

    Only forged parent claims make a cycle, so this path is rare and its node set small:
    it is computed in Python, then written back in one UPDATE. Each cycle's smallest
    event id becomes the root, which is what any arrival order ends with.
    """
    parent: dict[str, str] = {}
    for event_id, path in tx.execute(sql("chains_cycle_nodes"), {"children": list(links)}).fetchall():
        parent[event_id] = path[-2] if len(path) > 1 else links[event_id]
    roots: set[str] = set()
    state: dict[str, int] = {}  # 1 = on the walk now, 2 = done
    for start in parent:
        walk, node = [], start
        while node not in state:  # every node's parent is in the set, so each walk ends in a cycle or a done node
            state[node] = 1
            walk.append(node)
            node = parent[node]
        if state[node] == 1:
            roots.add(min(walk[walk.index(node):]))
        for visited in walk:
            state[visited] = 2
    paths: dict[str, list[str]] = {root: [root] for root in roots}
    for start in parent:
        up, node = [], start
        while node not in paths:
            up.append(node)
            node = parent[node]
        for visited in reversed(up):
            paths[visited] = [*paths[node], visited]
            node = visited
    rows = pa.table({"event_id": list(paths), "path": list(paths.values())}, schema=_CYCLE_SCHEMA)
    tx.register("chain_cycle", rows)
    tx.execute(sql("chains_cycle_reroot"))
    tx.execute(sql("chains_cycle_fresh"))
    tx.execute(sql("chains_cycle_forget"), {"children": list(links)})
    tx.unregister("chain_cycle")
