"""(i) The anomaly-detection rows of the bench table: held-out precision, recall and delay per kind."""

from __future__ import annotations

from typing import Any

from agenttrail.bench.report import TARGETS, Measure

STAGE = "(i) anomalies"


def detection_rows(detection: dict[str, Any] | None) -> list[Measure]:
    if detection is None:
        return [Measure(STAGE, "skipped (--detection-events 0)", 0, "")]
    held, tuning = detection["held_out"], detection["tuning"]
    seeds = ", ".join(str(s) for s in detection["held_out_seeds"])
    recall_target, precision_target = TARGETS["detection_recall"], TARGETS["detection_precision"]
    delay_target = TARGETS["detection_delay_p95_s"]
    rows = [Measure(STAGE, f"precision, held-out seeds {seeds}", held["precision"] * 100, "%",
                    f"≥ {precision_target:.0%}", held["precision"] >= precision_target,
                    note=f"tuning seed {detection['tuning_seed']}: {tuning['precision']:.0%}"
                    if detection["tuning_seed"] is not None else "")]
    for kind, k in held["kinds"].items():
        caught = ", ".join(f"{name} {n}" for name, n in k["caught_by"].items()) or "nothing"
        rows.append(Measure(STAGE, f"recall, {kind} ({k['detected']} of {k['injected']})", k["recall"] * 100, "%",
                            f"≥ {recall_target:.0%}", k["recall"] >= recall_target, note=f"caught by {caught}"))
    for kind, k in held["kinds"].items():
        if k["evidence_delay_p95_s"] is not None:
            rows.append(Measure(STAGE, f"  evidence needed, {kind}, p95 (event time)", k["evidence_delay_p95_s"],
                                "s", note=f"p50 {k['evidence_delay_p50_s']:.1f} s"))
    delay = held["pipeline_delay_p95_s"]
    if delay is not None:
        rows.append(Measure(STAGE, "delay, raising event emitted -> flag committed, p95", delay, "s",
                            f"≤ {delay_target:g} s", delay <= delay_target,
                            note=f"live at {detection['wall_rate']:,.0f} ev/s"))
    rows += [Measure(STAGE, f"  precision, {name} ({d['true']} of {d['flags']} flags)", d["precision"] * 100, "%")
             for name, d in held["detectors"].items()]
    return rows
