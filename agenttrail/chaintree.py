"""An operation chain (rows of the ``chain`` query) as an indented rich Tree or as nested JSON-safe dicts.

Both views share one walk: root first, children under their linked parent, in the
query's order (``nested`` and ``drawn`` lend it to other trees of rows, a token
lineage's). The walk is iterative, not recursive: a hostile producer can make
chains deeper than Python's stack. Stored values are untrusted, so the tree renders
them inert; the nested form uses ``agenttrail.output.to_records`` (JSON-safe values).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import pyarrow as pa
from rich.tree import Tree

from agenttrail.output import inert_markup, to_records

N = TypeVar("N")


def chain_tree(table: pa.Table) -> Tree:
    """The chain as a rich Tree; several roots (not from the ``chain`` query) hang under one label."""
    return drawn(to_records(table), _label, key="event_id", parent="parent_event_id", title="operation chain")


def chain_nested(table: pa.Table) -> list[dict[str, Any]]:
    """The chain as JSON-safe dicts, each with a ``children`` list; one root per chain."""
    return nested(to_records(table))


def nested(rows: list[dict[str, Any]], *, key: str = "event_id", parent: str = "parent_event_id",
           ) -> list[dict[str, Any]]:
    """``rows`` as a forest: each row a dict with a ``children`` list, under the row its ``parent`` names."""
    def make(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "children": []}

    def attach(above: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
        child = make(row)
        above["children"].append(child)
        return child

    return _build(rows, make, attach, key=key, parent=parent)


def drawn(rows: list[dict[str, Any]], label: Callable[[dict[str, Any]], str], *, key: str, parent: str,
          title: str) -> Tree:
    """``rows`` as a rich Tree, each node labelled by ``label`` (rich markup, values made inert by it)."""
    roots = _build(rows, lambda row: Tree(label(row)), lambda above, row: above.add(label(row)), key=key,
                   parent=parent)
    if len(roots) == 1:
        return roots[0]
    forest = Tree(title)
    forest.children.extend(roots)
    return forest


def rollup_line(rollup: dict[str, Any]) -> str:
    """A ``chain_summary`` record (from ``to_records``) as one line of rich markup, values inert."""
    cost = ", ".join(f"{trim_amount(amount)} {currency}" for currency, amount in rollup["cost"].items()) or "no cost"
    facts = [
        f"{rollup['actions']} actions ({rollup['events']} events, {rollup['incomplete']} incomplete)",
        f"{rollup['failures']} failed, {rollup['denied']} denied", f"depth {rollup['max_depth']}",
        f"{rollup['duration_us'] / 1000:.1f} ms", cost,
        f"{rollup['input_tokens']:,} input / {rollup['output_tokens']:,} output tokens",
        "regions " + ", ".join(rollup["regions"]), "versions " + ", ".join(rollup["agent_versions"]),
    ]
    return "[bold]chain[/bold] " + inert_markup(" · ".join(facts))


def _build(rows: list[dict[str, Any]], make: Callable[[dict[str, Any]], N],
           attach: Callable[[N, dict[str, Any]], N], *, key: str, parent: str) -> list[N]:
    """Nodes for ``rows`` (with ``key`` and ``parent``): a row whose parent is absent is a root."""
    ids = {row[key] for row in rows}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        children[row[parent] if row[parent] in ids else None].append(row)
    roots = [(make(row), row[key]) for row in children[None]]
    pending = list(reversed(roots))
    while pending:
        node, name = pending.pop()
        pending.extend((attach(node, child), child[key]) for child in children[name])
    return [node for node, _ in roots]


def _label(row: dict[str, Any]) -> str:
    """type name  agent@version  outcome  start time, duration, cost; the asked event is marked."""
    outcome, phase = row["outcome"], row.get("phase") or "completed"
    colour = {"success": "green", "pending": "yellow"}.get(outcome, "red")
    state = "incomplete (started, no completed event yet)" if phase == "started" else outcome
    started = str(row.get("started_at") or row.get("occurred_at") or "")[11:23]
    parts = [started]
    if row.get("duration_us") is not None:
        parts.append(f"{row['duration_us'] / 1000:.1f} ms")
    if row.get("cost_amount") is not None:
        parts.append(f"{trim_amount(row['cost_amount'])} {row.get('cost_currency') or ''}".strip())
    if phase == "started+completed":
        parts.append("fail_closed: started+completed")
    version = f"@{row['agent_version']}" if row.get("agent_version") else ""
    marker = "  [bold magenta]◀ asked[/bold magenta]" if row.get("asked") else ""
    return (f"[bold]{inert_markup(row['action_type'])}[/bold] {inert_markup(row['action_name'])}"
            f"  [dim]{inert_markup(row['agent_id'] + version)}[/dim]  [{colour}]{inert_markup(state)}[/{colour}]"
            f"  [dim]{inert_markup('  '.join(parts))}[/dim]{marker}")


def trim_amount(amount: str) -> str:
    """``0.004200000`` as ``0.0042``: the stored scale is fixed at nine decimals, the display need not be."""
    return amount.rstrip("0").rstrip(".") if "." in amount else amount
