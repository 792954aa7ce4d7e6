"""Simulated time for the fleet: a virtual clock, where it starts, and a wall-clock throttle.

A simulator that stamps events with the wall clock squeezes an hour of agent life into the
seconds the SDK needs to emit it, so rate- and window-based detectors see nothing realistic.
With a virtual clock the fleet decides when each action happened; the SDK stamps
``occurred_at`` from it (``connect(clock=...)``) and still measures durations for real.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

TICK = timedelta(microseconds=1)  # occurred_at is stored in microseconds: the smallest step kept


class VirtualClock:
    """Simulated UTC time that only moves forward.

    Every read ticks one microsecond, so the events of one task keep their order even though
    no simulated time passes inside a task; ``advance_to`` jumps ahead between tasks. Not
    thread-safe: one fleet drives it from one thread.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the virtual clock needs a timezone-aware start, e.g. datetime(..., tzinfo=UTC)")
        self._now = start.astimezone(UTC) - TICK  # the first read returns ``start``
        self.start = start.astimezone(UTC)

    def __call__(self) -> datetime:
        self._now += TICK
        return self._now

    @property
    def last(self) -> datetime:
        """The time the latest read returned (or just before ``start`` if none yet)."""
        return self._now

    def advance_to(self, moment: datetime) -> None:
        """Move to ``moment``, or stay where it is if that is already past: time never goes back."""
        self._now = max(self._now, moment - TICK)


def default_start(virtual_seconds: float) -> datetime:
    """Where a run that should take ``virtual_seconds`` of simulated time starts so that it ends
    near the present and never in the future (the consumer quarantines ``occurred_at`` more
    than 5 minutes ahead of it). A run's length is a sum of random gaps: it varies by a few
    percent for long runs and by seconds for short ones, so the start allows 10% plus a minute.
    """
    return datetime.now(UTC) - timedelta(seconds=1.1 * virtual_seconds + 60)


class Throttle:
    """Keeps emission below ``rate`` events per wall-clock second by sleeping, so a benchmark can
    run the producer beside the materializer without building a backlog. ``None``: never sleeps.
    """

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"wall_rate must be positive events per second, not {rate}")
        self.rate = rate
        self._t0 = time.perf_counter()

    def wait(self, emitted: int) -> None:
        """Sleep until ``emitted`` events are no longer ahead of the rate."""
        if self.rate is not None:
            ahead = emitted / self.rate - (time.perf_counter() - self._t0)
            if ahead > 0:
                time.sleep(ahead)
