"""(l) The OTLP ingest rows of the bench table: spans/s through serve, and where serve's time goes."""

from __future__ import annotations

from typing import Any

from agenttrail.bench.report import TARGETS, Measure

STAGE = "(l) otlp"
_PHASES = {"decode": "protobuf decode", "map": "map (GenAI conventions, price, ids)",
           "dedupe": "dedupe (claims, store lookup)", "seal": "seal (Avro encode, hash chain, spool)",
           "produce": "produce (Kafka sends, sender thread)"}


def otlp_rows(otlp: dict[str, Any] | None) -> list[Measure]:
    if otlp is None:
        return [Measure(STAGE, "skipped (--otlp-spans 0)", 0, "")]
    target = TARGETS["otlp_spans_per_s"]
    shape = (f"{otlp['spans']:,} spans, {otlp['spans_per_request']} a request, {otlp['exporters']} exporters, "
             f"{otlp['bytes_per_span']:.0f} B a span")
    rows = [
        Measure(STAGE, "POST /v1/traces -> accepted (sealed, spooled)", otlp["accepted_per_s"], "spans/s",
                f"≥ {target:,.0f} spans/s", otlp["accepted_per_s"] >= target, note=shape),
        Measure(STAGE, "  -> acknowledged by Kafka", otlp["produced_per_s"], "spans/s"),
        Measure(STAGE, "  -> stored by serve's materializer, every projection", otlp["stored_per_s"], "spans/s"),
    ]
    rows += [Measure(STAGE, f"  time in {label}", otlp["phases_us"].get(phase, 0.0), "µs/span",
                     note="wall time of the request threads" if phase != "produce" else "wall time, in parallel")
             for phase, label in _PHASES.items()]
    rows.append(Measure(STAGE, "  CPU, serve process (HTTP, ingest, sender, materializer)", otlp["serve_cpu_us"],
                        "µs/span"))
    return rows
