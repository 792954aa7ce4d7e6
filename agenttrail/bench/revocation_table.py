"""(j) The revocation-latency rows of the bench table: percentiles to the status endpoint and to the SDK guard."""

from __future__ import annotations

from typing import Any

from agenttrail.bench.report import TARGETS, Measure

STAGE = "(j) revocation"


def revocation_rows(revocation: dict[str, Any] | None) -> list[Measure]:
    if revocation is None:
        return [Measure(STAGE, "skipped (--revocation-trials 0)", 0, "")]
    target = TARGETS["revocation_p99_ms"]
    rows = []
    for part, label in (("status", "GET /v1/tokens/{fp} answers revoked"), ("guard", "SDK guard refuses")):
        found = revocation[part]
        missed = f", {found['missed']} missed (> {revocation['trial_timeout_s']:g} s)" if found["missed"] else ""
        rows += [
            Measure(STAGE, f"offending event -> {label}, p50", found["p50_ms"], "ms",
                    note=f"{found['measured']} of {revocation['trials']} trials{missed}"),
            Measure(STAGE, "  p95", found["p95_ms"], "ms"),
            Measure(STAGE, "  p99", found["p99_ms"], "ms", f"≤ {target:g} ms",
                    found["p99_ms"] <= target and not found["missed"], note=f"max {found['max_ms']:,.1f} ms"),
        ]
    rows.append(Measure(STAGE, "next use of the revoked token refused", revocation["refused"], "trials",
                        f"= {revocation['trials']}", revocation["refused"] == revocation["trials"],
                        note=f"status asked every {revocation['status_every_ms']:g} ms, "
                             f"one request ~{revocation['poll_ms_p50']:.0f} ms"))
    return rows
