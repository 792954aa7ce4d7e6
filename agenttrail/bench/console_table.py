"""(k) The console rows of the bench table: server time of the trail search and the chain view."""

from __future__ import annotations

from typing import Any

from agenttrail.bench.report import TARGETS, Measure

STAGE = "(k) console"


def console_rows(console: dict[str, Any]) -> list[Measure]:
    target = TARGETS["console_page_ms"]
    rows = []
    for part, label in (("trail", "trail search page (6 searches, one a keyset next page)"),
                        ("chain", "event page: chain tree, timing bars, integrity proof checked")):
        found = console[part]
        rows.append(Measure(STAGE, f"{label}, p50 / p95 / max", found["p50_ms"], "ms", f"≤ {target:g} ms",
                            found["max_ms"] <= target,
                            note=f"p95 {found['p95_ms']:.1f} ms, max {found['max_ms']:.1f} ms, "
                                 f"{console['runs']} loads over {console['events']:,} events"))
    return rows
