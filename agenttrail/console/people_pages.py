"""Principal and agent pages: who acted on whose behalf, agent versions over time, and spend over time."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from agenttrail.console.charts import spend_chart, versions_chart
from agenttrail.console.pages import Ask, Page
from agenttrail.output import to_records


def principal(ask: Ask, principal_id: str) -> Page:
    """Every agent acting for a principal, as a delegation tree (principal, then each hop of the actor path)."""
    tenant, since = ask.get("tenant"), ask.get("since", "30d")
    agents = ask.query("principal", principal=principal_id, tenant=tenant)
    over_time = ask.query("spend_over_time", principal=principal_id, tenant=tenant, since=since, bucket="day")
    rows = to_records(agents)
    return Page("principal", f"Principal {principal_id}", {"agents": agents, "spend": over_time},
                {"principal": principal_id, "filters": {"tenant": tenant, "since": since},
                 "graph": delegation_tree(principal_id, rows), "agents": rows,
                 "spend_chart": _spend_chart(to_records(over_time))})


def agent(ask: Ask, agent_id: str) -> Page:
    """One agent: its versions over time, who delegated to it and to whom it delegated, spend and budgets."""
    tenant, since = ask.get("tenant"), ask.get("since", "30d")
    versions = ask.query("versions", agent=agent_id, tenant=tenant)
    delegations = ask.query("delegations", agent=agent_id, tenant=tenant)
    over_time = ask.query("spend_over_time", agent=agent_id, tenant=tenant, since=since, bucket="day")
    budgets = ask.query("budget_forecast", tenant=tenant)
    budgets = budgets.filter(pc.equal(budgets["scope"], f"agent:{agent_id}"))
    version_rows = to_records(versions)
    return Page("agent", f"Agent {agent_id}", {"versions": versions, "delegations": delegations,
                                               "spend": over_time, "budgets": budgets},
                {"agent": agent_id, "filters": {"tenant": tenant, "since": since}, "versions": version_rows,
                 "versions_chart": versions_chart(version_rows), "delegations": to_records(delegations),
                 "budgets": to_records(budgets), "spend_chart": _spend_chart(to_records(over_time))})


def delegation_tree(principal_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``principal`` query's actor paths (``planner → worker``) as rows of a tree under the principal.

    Each path is one branch; shared prefixes are shared nodes, so a planner that delegated to
    two workers appears once with two children. Counts add up along each branch.
    """
    root: dict[str, Any] = {"name": principal_id, "events": 0, "children": {}}
    for row in rows:
        node = root
        root["events"] += row["events"]
        for hop in [f"{row['tenant']}/{part}" if i == 0 else part
                    for i, part in enumerate(row["actor_path"].split(" → "))]:
            node = node["children"].setdefault(hop, {"name": hop, "events": 0, "children": {}})
            node["events"] += row["events"]
    flat: list[dict[str, Any]] = []
    pending = [(root, 0)]
    while pending:
        node, level = pending.pop()
        flat.append({"name": node["name"], "events": node["events"], "level": level,
                     "has_children": bool(node["children"])})
        pending.extend((child, level + 1) for child in reversed(list(node["children"].values())))
    return flat


def _spend_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    currencies = sorted({row["currency"] for row in rows})
    return spend_chart(rows, currencies[0] if currencies else "USD", [])
