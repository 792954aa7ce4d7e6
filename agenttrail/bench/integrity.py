"""How fast the integrity work is: verify throughput, and what sealing costs the materializer.

Two measurements for ``agenttrail bench`` to show (the lead wires them in):

* ``measure_verify(db)``: events per second ``verify_store`` re-hashes and checks
  (every row's leaf and raw bytes in DuckDB, every checkpoint's tree and signature).
  Target: at least 200,000 events/s.
* ``measure_sealing_cost(events)``: materializer throughput from one pre-loaded
  topic into fresh stores with no projections, with the streams projection only,
  and with streams + checkpoint sealing. Target: sealing costs at most 15%.
  Variants run in turns (``rounds`` times, best kept) because the machine is noisy;
  ``sealing_share``, the part of the sealing run's own time spent sealing, is
  the same cost measured within one run, where that noise cannot reach it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb

from agenttrail._exceptions import AgentTrailError
from agenttrail.bench.events import encoded_events
from agenttrail.broker import EmbeddedBroker
from agenttrail.config import Settings, load_settings
from agenttrail.consumers.batch import Batch, Projection
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.projections.checkpoints import CheckpointSealer
from agenttrail.consumers.projections.streams import StreamIntegrity
from agenttrail.consumers.store import open_store
from agenttrail.kafka import ensure_topics, make_producer
from agenttrail.schemas.codec import default_codec
from agenttrail.signing import trusted_public_key
from agenttrail.verify import verify_store

_STALL_S = 30.0


@dataclass(frozen=True)
class VerifyMeasure:
    events: int
    checkpoints: int
    seconds: float
    events_per_s: float
    problems: int


@dataclass(frozen=True)
class SealingMeasure:
    events: int
    checkpoints: int
    without_projections_per_s: float
    streams_per_s: float
    streams_and_sealing_per_s: float
    sealing_share: float  # of the sealing run's wall time, the part spent sealing (immune to run-to-run noise)

    @property
    def sealing_cost(self) -> float:
        """The share of throughput sealing takes, against the same run without it (0.1 = 10%)."""
        return 1 - self.streams_and_sealing_per_s / self.streams_per_s


class _TimedSealer(CheckpointSealer):
    """The real sealer, timing its own work inside each batch."""

    seconds = 0.0

    def apply(self, batch: Batch, tx: duckdb.DuckDBPyConnection) -> None:
        started = time.perf_counter()
        super().apply(batch, tx)
        self.seconds += time.perf_counter() - started


def measure_verify(db: Path, public_key: Path | None = None, *, key_file: Path | None = None) -> VerifyMeasure:
    """Verify the store at ``db`` once (read-only) and time it."""
    settings = load_settings(db=db)
    con = open_store(db, read_only=True)
    try:
        key = partial(trusted_public_key, public_key, key_file or settings.signing_key_path)
        started = time.perf_counter()
        report = verify_store(con, key)
        seconds = time.perf_counter() - started
    finally:
        con.close()
    return VerifyMeasure(report.events, report.checkpoints, seconds, report.events / seconds, len(report.problems))


def measure_sealing_cost(events: int = 200_000, *, checkpoint_events: int = 10_000, rounds: int = 2,
                         workdir: Path | None = None,
                         on_progress: Callable[[str], None] = lambda _: None) -> SealingMeasure:
    """Materializer events/s without projections, with streams, with streams + sealing (best of ``rounds``)."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp, EmbeddedBroker() as broker:
        work = Path(tmp)
        settings = load_settings(bootstrap=broker.bootstrap, db=work / "sealing.duckdb", topic_prefix="sealbench",
                                 checkpoint_events=checkpoint_events, checkpoint_idle_s=3600,
                                 spool_dir=work / "spool")
        ensure_topics(settings, broker.bootstrap)
        on_progress("encoding and producing")
        _preload(settings, events)
        sealer = _TimedSealer(settings)
        variants: dict[str, list[Projection]] = {
            "none": [], "streams": [StreamIntegrity()], "sealing": [StreamIntegrity(), sealer]}
        best = dict.fromkeys(variants, 0.0)
        checkpoints, share = 0, 1.0
        for run in range(rounds):
            for name, projections in variants.items():
                on_progress(f"round {run + 1}: {name}")
                db = work / f"{name}-{run}.duckdb"
                sealer.seconds = 0.0
                rate, sealed = _materialize(settings, db, events, projections)
                best[name] = max(best[name], rate)
                if name == "sealing":
                    checkpoints, share = sealed, min(share, sealer.seconds * rate / events)
                db.unlink()
        return SealingMeasure(events, checkpoints, best["none"], best["streams"], best["sealing"], share)


def _preload(settings: Settings, events: int) -> None:
    records = encoded_events(events, default_codec(), lambda _: None)
    producer = make_producer(settings, settings.bootstrap or "")
    try:
        for key, value in records:
            producer.send(settings.topic("actions"), key=key, value=value)
        producer.flush(timeout=120)
    finally:
        producer.close()


def _materialize(settings: Settings, db: Path, expected: int,
                 projections: Sequence[Projection]) -> tuple[float, int]:
    """(events/s, checkpoints sealed) for one run from offset 0 into a fresh store at ``db``."""
    con = open_store(db)
    materializer = Materializer(settings, settings.bootstrap or "", con, projections=projections)
    try:
        materializer.start()
        done, last = 0, time.monotonic()
        started = time.perf_counter()
        while done < expected:
            result = materializer.step()
            if result is not None:
                done += result.stored + result.duplicates + result.quarantined
                last = time.monotonic()
            elif time.monotonic() - last > _STALL_S:
                raise AgentTrailError(f"The materializer stalled at {done} of {expected} events.")
        seconds = time.perf_counter() - started
        ((sealed,),) = con.execute("SELECT count(*) FROM checkpoints").fetchall()
    finally:
        materializer.close()
        con.close()
    return expected / seconds, int(sealed)
