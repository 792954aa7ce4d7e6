"""An operation chain (rows of the ``chain`` query) drawn as an indented rich Tree."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyarrow as pa
from rich.tree import Tree

from agenttrail.output import inert_markup


def chain_tree(table: pa.Table) -> Tree:
    """Root first, children under their parent; stored values are rendered inert (they are untrusted)."""
    rows = table.to_pylist()
    ids = {row["event_id"] for row in rows}
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        children[row["parent_event_id"] if row["parent_event_id"] in ids else None].append(row)
    roots = children[None]
    single = len(roots) == 1
    tree = Tree(_label(roots[0]) if single else "operation chain")
    # Iterative, not recursive: a hostile producer can make chains deeper than Python's stack.
    pending = [(tree, roots[0]["event_id"])] if single else []
    for root in [] if single else roots:
        pending.append((tree.add(_label(root)), root["event_id"]))
    while pending:
        node, event_id = pending.pop()
        for child in children[event_id]:
            pending.append((node.add(_label(child)), child["event_id"]))
    return tree


def _label(row: dict[str, Any]) -> str:
    cost = f"  {row['cost_amount'].normalize()} {row.get('cost_currency') or ''}" if row.get("cost_amount") else ""
    duration = f"  {row['duration_us'] / 1000:.1f} ms" if row.get("duration_us") is not None else ""
    colour = "green" if row["outcome"] == "success" else "red"
    return (f"[bold]{inert_markup(row['action_type'])}[/bold] {inert_markup(row['action_name'])}"
            f"  [dim]{inert_markup(row['agent_id'])}[/dim]  [{colour}]{inert_markup(row['outcome'])}[/{colour}]"
            f"{inert_markup(duration)}{inert_markup(cost)}")
