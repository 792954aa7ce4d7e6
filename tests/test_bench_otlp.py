"""Stage (l) at a tiny size: OTLP spans through a real `agenttrail serve`, every number positive.

Speed is measured, never asserted.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from agenttrail.bench.otlp import measure_otlp
from agenttrail.bench.otlp_table import otlp_rows
from agenttrail.broker import EmbeddedBroker
from agenttrail.config import load_settings
from agenttrail.kafka import ensure_topics


def test_the_otlp_stage_reports_spans_per_second_and_where_the_time_goes(tmp_path: Path) -> None:
    with EmbeddedBroker() as broker:
        settings = load_settings(bootstrap=broker.bootstrap, db=tmp_path / "bench.duckdb",
                                 spool_dir=tmp_path / "spool", fingerprint_key=secrets.token_urlsafe(32),
                                 topic_prefix="bench-otlp")
        ensure_topics(settings, broker.bootstrap)
        seen: list[int] = []
        otlp = measure_otlp(settings, broker.bootstrap, tmp_path / "otlp", spans=3000, on_progress=seen.append)
    assert otlp["spans"] == sum(seen) == 3000 and otlp["requests"] == 6
    assert otlp["accepted_per_s"] >= otlp["produced_per_s"] >= otlp["stored_per_s"] > 0
    assert set(otlp["phases_us"]) == {"decode", "map", "dedupe", "seal", "produce"}
    assert all(us > 0 for us in otlp["phases_us"].values()) and otlp["serve_cpu_us"] > 0
    rows = otlp_rows(otlp)
    assert rows[0].ok is not None and all(row.value > 0 for row in rows)
