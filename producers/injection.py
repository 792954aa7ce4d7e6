"""When and to whom the fleet's anomalies happen, and how they interleave with normal tasks.

On the virtual clock normal tasks arrive as a Poisson process: after a task of n events the
next one comes after an exponential gap of mean n / pace, so the fleet emits ``pace`` events
per virtual second on average (``Timeline``).

``plan`` places each instance at a seeded point after the warm-up on an agent whose role
makes it anomalous, never overlapping another instance of the same agent. ``Injector``
then runs the instances as coroutines on the fleet's virtual clock: each step is resumed
when its time comes, between normal tasks, in its own ``contextvars.Context`` so the
action it holds open (a task stuck in a loop) never becomes the parent of another
agent's actions.
"""

from __future__ import annotations

import contextvars
import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from agenttrail.producers.pacing import VirtualClock
from agenttrail.producers.scenarios import BEHAVIOURS, KINDS, AnomalyShape, InjectedAnomaly, Kind, Recording, eligible

if TYPE_CHECKING:
    from agenttrail.producers.fleet import Fleet
    from agenttrail.producers.fleet_types import SimAgent

_PLACEMENT_TRIES = 200


@dataclass(frozen=True)
class Planned:
    kind: Kind
    agent: SimAgent
    start: datetime
    seconds: float


def plan(rng: random.Random, per_kind: int, agents: list[SimAgent], origin: datetime, horizon: float,
         shape: AnomalyShape) -> list[Planned]:
    """``per_kind`` instances of every kind within ``horizon`` virtual seconds after ``origin``.

    Raises ValueError when a kind has no eligible agent or the instances do not fit: the run
    is too short for the windows after the warm-up, or too few agents to keep them apart.
    """
    taken: dict[str, list[tuple[float, float]]] = {}
    planned = []
    for kind in KINDS:
        candidates = [a for a in agents if eligible(kind, a.role[3])]
        if per_kind and not candidates:
            raise ValueError(f"no agent of this fleet can carry a {kind}; add agents or tenants")
        low, high = shape.minutes(kind)
        earliest = shape.warmup * horizon
        if per_kind and horizon - high * 60 < earliest:
            raise ValueError(f"a {kind} of up to {high} virtual minutes does not fit after the warm-up of a "
                             f"{horizon / 60:.1f}-minute run; emit more events, lower the pace or shorten it")
        for _ in range(per_kind):
            for _ in range(_PLACEMENT_TRIES):
                seconds = rng.uniform(low, high) * 60
                offset, agent = rng.uniform(earliest, horizon - seconds), rng.choice(candidates)
                window = (offset, offset + seconds)
                if all(window[1] < s or e < window[0] for s, e in taken.get(agent.id, [])):
                    break
            else:
                raise ValueError(f"{per_kind} anomalies of each kind do not fit without overlapping on "
                                 "one agent; emit more events or inject fewer")
            taken.setdefault(agent.id, []).append(window)
            planned.append(Planned(kind, agent, origin + timedelta(seconds=offset), seconds))
    return planned


class Injector:
    """Runs planned instances step by step; ``anomalies`` lists the finished ones by start."""

    def __init__(self, fleet: Fleet, clock: VirtualClock, planned: list[Planned], rng: random.Random,
                 shape: AnomalyShape) -> None:
        self._fleet, self._clock = fleet, clock
        self._queue: list[tuple[datetime, int, contextvars.Context, Iterator[float], Recording]] = []
        for order, p in enumerate(planned):
            recording = Recording(p.kind, p.agent, clock)
            steps = BEHAVIOURS[p.kind](fleet, recording, rng, shape, p.seconds)
            self._queue.append((p.start, order, contextvars.Context(), steps, recording))
        heapq.heapify(self._queue)
        self._finished: list[InjectedAnomaly] = []

    @property
    def next_due(self) -> datetime | None:
        return self._queue[0][0] if self._queue else None

    @property
    def anomalies(self) -> list[InjectedAnomaly]:
        return sorted(self._finished, key=lambda a: (a.start, a.kind, a.agent_id))

    def step(self) -> None:
        """Move the clock to the earliest due step and run it; its events go to its recording."""
        due, order, context, steps, recording = heapq.heappop(self._queue)
        clock = self._clock
        clock.advance_to(due)
        with self._fleet.ledger.recording(recording):
            wait = context.run(next, steps, None)
        if wait is None:
            self._finished.append(recording.result())
        else:
            heapq.heappush(self._queue, (clock.last + timedelta(seconds=wait), order, context, steps, recording))


class Timeline:
    """Decides what happens next on the virtual clock: the next normal task or a due anomaly step."""

    def __init__(self, clock: VirtualClock, pace: float, gaps: random.Random, injector: Injector | None) -> None:
        self.clock, self._pace, self._gaps, self.injector = clock, pace, gaps, injector
        self._next_task = clock.last

    @property
    def pending(self) -> bool:
        """Whether an injected anomaly has steps left."""
        return self.injector is not None and self.injector.next_due is not None

    def anomaly_first(self, *, tasks_done: bool) -> bool:
        """Whether an anomaly step is due before the next task (always, once no task is left)."""
        due = self.injector.next_due if self.injector else None
        return due is not None and (tasks_done or due <= self._next_task)

    def step_anomaly(self) -> None:
        if self.injector is not None:
            self.injector.step()

    def start_task(self) -> None:
        self.clock.advance_to(self._next_task)

    def end_task(self, emitted: int) -> None:
        """The task emitted ``emitted`` events; the next one comes after a gap they explain.

        A task the guard refused before it began counts as one: its refusal is recorded as a denied event.
        """
        gap = self._gaps.expovariate(self._pace / max(emitted, 1))
        self._next_task = self.clock.last + timedelta(seconds=gap)
