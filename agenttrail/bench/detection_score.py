"""Scoring anomaly flags against the simulator's ground truth: precision, recall and detection delay.

A flag is a true positive when it names the anomaly's tenant and agent (or, for a
leaked token, its token) and its episode [first_seen, last_seen] meets the
anomaly's window [start, end + GRACE]; every other flag is a false positive. An
injected anomaly is detected when at least one flag matches it. Its delay has two
parts, because the fleet runs on a virtual clock: the evidence delay (event time
from the anomaly's first event to the event that raised the flag: how much of the
anomaly a detector needs to see) and the pipeline delay (wall time from that event
leaving the SDK to the flag's transaction committing: what the system adds).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agenttrail.producers.scenarios import KINDS, InjectedAnomaly

GRACE = timedelta(minutes=1)  # a bucket judged just after the window closed still saw the anomaly


@dataclass(frozen=True)
class Flag:
    kind: str
    tenant: str
    scope: str
    agent_id: str | None
    first_seen: datetime
    last_seen: datetime
    raised_seq: int
    raised_by: str  # the event id that raised it
    summary: str


@dataclass
class KindScore:
    injected: int = 0
    detected: int = 0
    caught_by: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    evidence_delays_s: list[float] = field(default_factory=list)
    pipeline_delays_s: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.detected / self.injected if self.injected else 1.0


@dataclass
class DetectorScore:
    flags: int = 0
    true: int = 0

    @property
    def precision(self) -> float:
        return self.true / self.flags if self.flags else 1.0


@dataclass
class Score:
    kinds: dict[str, KindScore]
    detectors: dict[str, DetectorScore]
    missed: list[str] = field(default_factory=list)  # the anomalies no flag matched, for a person to read
    false_flags: list[str] = field(default_factory=list)  # the summaries of flags that matched nothing

    @property
    def precision(self) -> float:
        flags = sum(d.flags for d in self.detectors.values())
        return sum(d.true for d in self.detectors.values()) / flags if flags else 1.0

    def add(self, other: Score) -> None:
        for kind, theirs in other.kinds.items():
            mine = self.kinds.setdefault(kind, KindScore())
            mine.injected += theirs.injected
            mine.detected += theirs.detected
            for detector, n in theirs.caught_by.items():
                mine.caught_by[detector] += n
            mine.evidence_delays_s += theirs.evidence_delays_s
            mine.pipeline_delays_s += theirs.pipeline_delays_s
        for name, theirs_d in other.detectors.items():
            mine_d = self.detectors.setdefault(name, DetectorScore())
            mine_d.flags += theirs_d.flags
            mine_d.true += theirs_d.true
        self.missed += other.missed
        self.false_flags += other.false_flags


def matches(flag: Flag, anomaly: InjectedAnomaly) -> bool:
    names_it = flag.agent_id == anomaly.agent_id or (
        anomaly.token_fingerprint is not None and flag.scope == f"token:{anomaly.token_fingerprint}")
    return (flag.tenant == anomaly.tenant and names_it and flag.first_seen <= anomaly.end + GRACE
            and flag.last_seen >= anomaly.start)


def score(anomalies: list[InjectedAnomaly], flags: list[Flag], *, committed: list[tuple[int, float]],
          emitted_wall: dict[str, float], occurred: dict[str, datetime]) -> Score:
    """``committed``: (last store_seq, wall time) of each committed batch, in order; ``occurred``:
    occurred_at of each flag's raising event."""
    kinds = {kind: KindScore() for kind in KINDS}
    detectors: dict[str, DetectorScore] = defaultdict(DetectorScore)
    false_flags = []
    for flag in flags:
        detectors[flag.kind].flags += 1
        if any(matches(flag, anomaly) for anomaly in anomalies):
            detectors[flag.kind].true += 1
        else:
            false_flags.append(f"{flag.kind}: {flag.summary}")
    missed = []
    seqs = [seq for seq, _ in committed]
    for anomaly in anomalies:
        kind = kinds[anomaly.kind]
        kind.injected += 1
        caught = sorted((f for f in flags if matches(f, anomaly)), key=lambda f: f.raised_seq)
        if not caught:
            missed.append(f"{anomaly.kind} of {anomaly.agent_id} ({anomaly.tenant}) from {anomaly.start:%H:%M:%S} "
                          f"to {anomaly.end:%H:%M:%S}, {len(anomaly.event_ids)} events")
            continue
        kind.detected += 1
        for detector in {f.kind for f in caught}:
            kind.caught_by[detector] += 1
        first = caught[0]
        kind.evidence_delays_s.append(max(0.0, (occurred[first.raised_by] - anomaly.start).total_seconds()))
        at = bisect.bisect_left(seqs, first.raised_seq)
        if first.raised_by in emitted_wall and at < len(committed):
            kind.pipeline_delays_s.append(committed[at][1] - emitted_wall[first.raised_by])
    return Score(kinds, dict(detectors), missed, false_flags)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (nearest rank), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def flag_from_row(row: dict[str, Any]) -> Flag:
    return Flag(kind=row["kind"], tenant=row["tenant"], scope=row["scope"], agent_id=row["agent_id"],
                first_seen=row["first_seen"], last_seen=row["last_seen"], raised_seq=row["raised_seq"],
                raised_by=row["raised_by"], summary=row["summary"])
