"""(m) The leak rows of the bench table: a report to its whole tree revoked, per tree size; the blast radius report."""

from __future__ import annotations

from typing import Any

from agenttrail.bench.report import TARGETS, Measure

STAGE = "(m) leaks"


def leak_rows(cascade: dict[str, Any] | None, blast: dict[str, Any]) -> list[Measure]:
    rows = [Measure(STAGE, "skipped (--leak-trials 0)", 0, "")]
    if cascade is not None:
        rows = [_tree_row(int(size), found, cascade["trials"]) for size, found in cascade["trees"].items()]
    target = TARGETS["blast_radius_ms"]
    for label, when in (("now", "now"), ("as_of", "as of mid-week")):
        rows.append(Measure(
            STAGE, f"blast radius, {blast['tokens']}-token lineage ({blast[f'{label}_events']:,} of "
                   f"{blast['events']:,} events), {when}, p50", blast[f"{label}_p50_ms"], "ms",
            f"≤ {target:g} ms", blast[f"{label}_p50_ms"] <= target, note=f"max {blast[f'{label}_max_ms']:,.0f} ms"))
    return rows


def _tree_row(size: int, found: dict[str, Any], trials: int) -> Measure:
    return Measure(STAGE, f"GitHub report -> tree of {size:,} revoked at GET /v1/tokens/{{fp}}, p50", found["p50_ms"],
                   "ms", note=f"p95 {found['p95_ms']:,.0f} ms, max {found['max_ms']:,.0f} ms over {trials} trees; "
                              f"the report answered in {found['answer_p50_ms']:,.0f} ms (p50)")
