"""What a fleet run emitted, kept as it happens.

The report's counts; the per-agent baselines anomaly scenarios scale themselves from
(normal traffic only, so an earlier anomaly never inflates a later one's baseline); when
each event left the SDK (``track_emits``), for measuring end-to-end detection latency; and
which events belong to the anomaly being injected.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from agenttrail.producers.pacing import VirtualClock
from agenttrail.producers.scenarios import Recording
from agenttrail.producers.trail import ActionScope, Trail

_USAGE = ("llm.call", "tool.call")  # the spend an agent's work costs, as opposed to purchases


class Ledger:
    def __init__(self, clock: VirtualClock | None, *, track_emits: bool) -> None:
        self._clock = clock  # None: the wall clock; the rates are only asked for on a virtual one
        self.events = 0  # emitted: one per action, plus one per fail_closed ``started``
        self.injected = 0  # of which by anomalies
        self.per_tenant: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()
        self.depth = 0  # of the normal task's chain being recorded
        self.deepest = 0
        self.emitted_wall: dict[str, float] = {}  # event id -> time.time() when the SDK took it
        self._track_emits = track_emits
        self._agent_events: Counter[str] = Counter()
        self._usage_spend: defaultdict[str, Decimal] = defaultdict(Decimal)  # USD per agent id
        self._recording: Recording | None = None

    @property
    def normal(self) -> int:
        return self.events - self.injected

    @contextmanager
    def recording(self, recording: Recording | None) -> Iterator[None]:
        """Attribute what is emitted inside the block to ``recording`` (None: normal traffic)."""
        previous, self._recording = self._recording, recording
        try:
            yield
        finally:
            self._recording = previous

    def opened(self, trail: Trail, kind: str, act: ActionScope) -> None:
        """The action has started: its ``started`` event, if it has one, left the SDK."""
        emitted = 2 if act.mode == "fail_closed" else 1  # started + completed
        self.events += emitted
        self.per_tenant[trail.tenant] += emitted
        self.actions[kind] += 1
        if self._recording is None:
            self._agent_events[str(trail.agent["id"])] += emitted
            self.depth += 1
            self.deepest = max(self.deepest, self.depth)
        else:
            self.injected += emitted
        if act.started_event_id is not None:
            self._emitted(act.started_event_id)

    def closed(self, trail: Trail, kind: str, act: ActionScope) -> None:
        """The action's ``completed`` event left the SDK."""
        if self._recording is None:
            self.depth -= 1
            if act.cost is not None and act.cost["currency"] == "USD" and kind in _USAGE:
                self._usage_spend[str(trail.agent["id"])] += act.cost["amount"]
        self._emitted(act.event_id)

    def agent_rate(self, agent_id: str) -> float:
        """Normal events of ``agent_id`` per virtual second so far; at least one a minute, so the
        gaps of a scenario scaled from it stay finite."""
        return max(self._agent_events[agent_id] / self._elapsed(), 1 / 60)

    def usage_rate(self, agent_id: str) -> float:
        """Normal model and tool spend of ``agent_id`` so far, in USD per virtual second."""
        return float(self._usage_spend.get(agent_id, 0)) / self._elapsed()

    def _elapsed(self) -> float:
        """Virtual seconds since the clock started (at least one, so rates stay finite)."""
        return max(1.0, (self._clock.last - self._clock.start).total_seconds()) if self._clock else 1.0

    def _emitted(self, event_id: str) -> None:
        if self._track_emits:
            self.emitted_wall[event_id] = time.time()
        if self._recording is not None:
            self._recording.add(event_id)
