"""(o) The privacy rows of the bench table: sealing in the SDK's sender, a retention run, verify after it."""

from __future__ import annotations

from typing import Any

from agenttrail.bench.report import Measure

STAGE = "(o) privacy"


def privacy_rows(privacy: dict[str, Any]) -> list[Measure]:
    p = privacy
    return [
        Measure(STAGE, f"SDK sender: seal a person's id and address + encode, {p['seal_events']:,} events",
                p["seal_and_encode_us"], "µs/ev", note=f"encode alone {p['encode_us']:,.1f} µs/ev"),
        Measure(STAGE, f"retention run: remove one tenant's {p['removed']:,} of {p['stored']:,} stored events, "
                       "sign a statement per checkpoint, copy the rebuild baseline", p["retention_run_s"], "s"),
        Measure(STAGE, f"verify after it, {p['verify_after_events']:,} events left", p["verify_after_per_s"], "ev/s",
                note="clean: the removed rows are the run's signed fact"),
    ]
