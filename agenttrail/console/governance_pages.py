"""The governance pages: spend against budgets, anomaly flags, and tokens with their lineage and revocations.

Each reads named queries through ``Ask.query`` (the caller's tenant pinned) and
returns a ``Page``; acknowledging a flag and revoking a token are the console's
writes (``console.routes``), which these pages offer to the admin.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow.compute as pc

from agenttrail.console.charts import budget_chart, spend_chart
from agenttrail.console.pages import Ask, Page
from agenttrail.output import to_records

BUDGET_CHART_ROWS = 12
TOP_SPENDERS = 20


def spend(ask: Ask) -> Page:
    """Spend per hour or day and agent, with the budgets it runs against, top spenders and forecasts."""
    tenant, agent = ask.get("tenant"), ask.get("agent")
    since, bucket = ask.get("since", "7d"), "hour" if ask.get("bucket") == "hour" else "day"
    over_time = ask.query("spend_over_time", tenant=tenant, agent=agent, since=since, until=ask.get("until"),
                          bucket=bucket)
    top = ask.query("spend_by_agent", tenant=tenant, since=since, until=ask.get("until"))
    budgets = ask.query("budget_forecast", tenant=tenant)
    if agent:
        budgets = budgets.filter(pc.equal(budgets["scope"], f"agent:{agent}"))
        top = top.filter(pc.equal(top["agent_id"], agent))
    top = top.slice(0, TOP_SPENDERS)
    rows, budget_rows = to_records(over_time), to_records(budgets)
    charges = Counter(row["currency"] for row in rows)
    currencies = sorted(charges, key=lambda name: (-charges[name], name))  # the most used first: the default
    currency = ask.get("currency") or (currencies[0] if currencies else "USD")
    lines = _budget_lines(budget_rows, currency, bucket, tenant, agent)
    return Page("spend", "Spend", {"spend": over_time, "top_spenders": top, "budgets": budgets},
                {"filters": {"tenant": tenant, "agent": agent, "since": since, "bucket": bucket,
                             "currency": currency},
                 "currencies": currencies, "budget_rows": budget_rows,
                 "spend_chart": spend_chart(rows, currency, lines),
                 "budget_chart": budget_chart(budget_rows[:BUDGET_CHART_ROWS])})


def _budget_lines(budgets: list[dict[str, Any]], currency: str, bucket: str, tenant: str | None,
                  agent: str | None) -> list[dict[str, Any]]:
    """Flat lines for the spend chart: a daily budget's limit and thresholds, when the bars are days of its scope.

    Only a budget whose period is the bars' bucket compares with a bar; the others are in the
    budgets chart, as a share of their limit.
    """
    if bucket != "day":
        return []
    scope = f"agent:{agent}" if agent else f"tenant:{tenant}" if tenant else None
    lines = []
    for row in budgets:
        if row["scope"] == scope and row["period"] == "day" and row["currency"] == currency:
            limit = float(row["limit"])
            lines.append({"label": f"{row['scope']} daily limit {row['limit']}", "value": limit})
            lines += [{"label": f"{threshold}% threshold", "value": limit * threshold / 100}
                      for threshold in row["thresholds"] if threshold != 100]
    return lines


def anomalies(ask: Ask) -> Page:
    """Anomaly flags (open by default), each with its explanation and evidence, acknowledgeable by the admin."""
    status = ask.get("status", "open")
    flags = ask.query("anomalies", tenant=ask.get("tenant"), kind=ask.get("kind"), since=ask.get("since"),
                      status=None if status == "all" else status, limit="200")
    return Page("anomalies", "Anomalies", {"flags": flags},
                {"filters": {"tenant": ask.get("tenant"), "kind": ask.get("kind"), "since": ask.get("since"),
                             "status": status}, "flags": to_records(flags)})


def tokens(ask: Ask) -> Page:
    """Tokens seen in the trail and every revocation and suspension, newest first."""
    tenant = ask.get("tenant")
    seen = ask.query("tokens", tenant=tenant, status=ask.get("status"), holder=ask.get("holder"))
    history = ask.query("revocations", tenant=tenant, limit="200")
    return Page("tokens", "Tokens", {"tokens": seen, "revocations": history},
                {"filters": {"tenant": tenant, "status": ask.get("status"), "holder": ask.get("holder")}})


def token(ask: Ask, fingerprint: str) -> Page:
    """One token: its status, its lineage as a tree, its revocation history with rule and evidence."""
    lineage = ask.query("token_lineage", fingerprint=fingerprint, tenant=ask.get("tenant"))
    mine = [row for row in to_records(lineage) if row["asked"]]
    tenant = mine[0]["tenant"] if mine else ask.caller.tenant
    history = ask.query("revocations", subject=fingerprint, tenant=tenant)
    history_rows = to_records(history)
    in_force = mine[0]["status"] if mine else next(
        (row["status"] for row in history_rows if row["lifted_at"] is None), "active")
    return Page("token", f"Token {fingerprint}", {"lineage": lineage, "revocations": history},
                {"fingerprint": fingerprint, "tenant": tenant, "known": bool(mine), "status": in_force,
                 "lineage": to_records(lineage), "history": history_rows,
                 "links": [("its trail", "/ui/trail", {"fingerprint": fingerprint}),
                           ("its blast radius", f"/ui/tokens/{fingerprint}/blast-radius", {})]})
