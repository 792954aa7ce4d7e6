"""Chart.js configurations (plain JSON) built from query rows; ``static/charts.js`` hands them to Chart.js.

The server decides what a chart shows, so the JSON export and the chart agree;
Chart.js (vendored, ``static/chart.umd.min.js``) only draws. Money is exact in
the rows and the exports; a chart's axis is the one place it becomes a float.
Configs carry ``timeAxis`` when an axis holds epoch milliseconds, so the script
formats its ticks as dates (a config cannot carry a function).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

TOP_SERIES = 8  # agents drawn one by one; the rest are summed as "others"
BUDGET_AXIS_MAX_PCT = 200  # a runaway at 50,000% would squash every other budget and the threshold markers


def spend_chart(rows: list[dict[str, Any]], currency: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Stacked bars of ``spend_over_time`` rows in ``currency``, one series per agent, plus budget ``lines``.

    Each line is ``{"label", "value"}``: a budget's limit or one of its thresholds, drawn flat
    across the chart, so a bar above it is spend past that mark in that bucket.
    """
    mine = [row for row in rows if row["currency"] == currency]
    buckets = sorted({row["bucket"] for row in mine})
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in mine:
        totals[f"{row['agent_id']} ({row['tenant']})"] += Decimal(row["spend"])
    named = sorted(totals, key=lambda name: (-totals[name], name))[:TOP_SERIES]
    series: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in mine:
        name = f"{row['agent_id']} ({row['tenant']})"
        series[name if name in named else "others"][row["bucket"]] += float(row["spend"])
    datasets: list[dict[str, Any]] = [
        {"type": "bar", "label": name, "data": [round(series[name][b], 6) for b in buckets], "stack": "spend"}
        for name in [*named, *(["others"] if "others" in series else [])]
    ]
    datasets += [{"type": "line", "label": line["label"], "data": [float(line["value"])] * len(buckets),
                  "borderDash": [6, 4], "pointRadius": 0, "borderWidth": 2, "fill": False} for line in lines]
    return {"type": "bar", "data": {"labels": [b[:16].replace("T", " ") for b in buckets], "datasets": datasets},
            "options": {"responsive": True, "maintainAspectRatio": False, "animation": False,
                        "scales": {"x": {"stacked": True}, "y": {"stacked": True, "beginAtZero": True,
                                                                 "title": {"display": True, "text": currency}}}}}


def budget_chart(budgets: list[dict[str, Any]]) -> dict[str, Any]:
    """Per budget: spent and forecast to the period's end as % of its limit, its thresholds as markers."""
    labels = [f"{row['scope']} ({row['tenant']}, {row['period']})" for row in budgets]
    markers = [{"x": threshold, "y": label} for row, label in zip(budgets, labels, strict=True)
               for threshold in row["thresholds"]]
    return {"type": "bar", "data": {"labels": labels, "datasets": [
        {"label": "spent, % of limit", "data": [row["used_pct"] for row in budgets]},
        {"label": "forecast to period end, %", "data": [row["forecast_pct"] for row in budgets]},
        {"type": "scatter", "label": "thresholds", "data": markers, "pointStyle": "triangle", "pointRadius": 7,
         "rotation": 180},
    ]}, "options": {"indexAxis": "y", "responsive": True, "maintainAspectRatio": False, "animation": False,
                    "scales": {"x": {"beginAtZero": True, "max": BUDGET_AXIS_MAX_PCT,
                                     "title": {"display": True, "text": f"% of the limit (bars stop at "
                                                                        f"{BUDGET_AXIS_MAX_PCT}%: the table has "
                                                                        "the exact figures)"}},
                               "y": {"type": "category", "ticks": {"autoSkip": False}}}}}


def versions_chart(versions: list[dict[str, Any]]) -> dict[str, Any]:
    """One floating bar per agent version, from its first to its last event: versions over time."""
    labels = [f"{row['agent_version']}" for row in versions]
    spans = [[ms(row["first_seen"]), max(ms(row["last_seen"]), ms(row["first_seen"]) + 1000)] for row in versions]
    return {"type": "bar", "timeAxis": "x", "data": {"labels": labels, "datasets": [
        {"label": "in use (first to last event)", "data": spans}]},
            "options": {"indexAxis": "y", "responsive": True, "maintainAspectRatio": False, "animation": False,
                        "scales": {"x": {"type": "linear"}}}}


def ms(iso: str) -> int:
    """An ISO timestamp as epoch milliseconds, the unit of a ``timeAxis``."""
    return int(datetime.fromisoformat(iso).timestamp() * 1000)
