"""Bench stage (j) at a tiny size: leaked tokens revoked through a real `agenttrail serve`, every trial timed.

Latency is measured by `agenttrail bench`, never asserted: this proves that every trial
reaches both enforcement points and that the next use is refused.
"""

from __future__ import annotations

from pathlib import Path

from agenttrail.bench.revocation import measure_revocation
from agenttrail.bench.revocation_table import revocation_rows
from tests.fixtures import SettingsFactory


def test_every_leaked_token_reaches_the_status_endpoint_and_the_guard(settings_factory: SettingsFactory,
                                                                      tmp_path: Path) -> None:
    settings = settings_factory()
    progress: list[int] = []
    result = measure_revocation(settings, settings.bootstrap or "", tmp_path / "revocation", trials=3,
                                on_progress=progress.append)

    assert sum(progress) == 3 and result["refused"] == 3
    for part in ("status", "guard"):
        assert result[part]["measured"] == 3 and result[part]["missed"] == 0
        assert 0 < result[part]["p50_ms"] <= result[part]["p99_ms"] <= result[part]["max_ms"]
    rows = revocation_rows(result)
    assert rows[-1].ok and any("SDK guard refuses" in row.measure for row in rows)
    assert not (tmp_path / "revocation" / "revocation.server.json").exists(), "the server was stopped"


def test_a_skipped_stage_says_how_to_run_it() -> None:
    assert revocation_rows(None)[0].measure == "skipped (--revocation-trials 0)"
