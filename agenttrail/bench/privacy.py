"""(o) What keeping personal data only as long as allowed costs: sealing in the SDK, a retention run, verify after.

* Sealing: the SDK's sender seals each event's personal fields before it encodes it
  (``producers/keyring.py``): a human principal's id and the source address, under the
  person's key, from a cache after the first time. Measured as encode with and without
  sealing, per event, over the bench's events (nine people per tenant).
* A retention run over stage (f)'s store: one tenant (a fifth of the events) gets a
  period shorter than the events' age, a run removes its events, records and signs
  what went, and copies every projection table into the rebuild baseline; the time is
  the retention projection's share of that batch's commit, as the materializer times it.
* Verify over what remains, whose checkpoints now lack the removed rows.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from agenttrail.bench.events import sample_events
from agenttrail.bench.integrity import measure_verify
from agenttrail.bench.report import BenchError
from agenttrail.config import Settings
from agenttrail.consumers.materializer import Materializer
from agenttrail.consumers.store import open_store
from agenttrail.producers.control import publish_control
from agenttrail.producers.keyring import Keyring
from agenttrail.schemas.codec import default_codec
from agenttrail.schemas.control import RetentionRun, RetentionSet

SEAL_EVENTS_MAX = 100_000
RETAINED_TENANT = "acme"  # bench events spread over five tenants: this one's expire
_STALL_S = 60.0


def measure_privacy(settings: Settings, bootstrap: str, db: Path, *, events: int) -> dict[str, Any]:
    """Sealing µs per event, then a retention run over the store at ``db`` (left with a fifth of it removed)."""
    return {**_sealing(settings, min(events, SEAL_EVENTS_MAX)), **_retention(settings, bootstrap, db)}


def _sealing(settings: Settings, count: int) -> dict[str, Any]:
    pool = [{**event, "integrity": {"stream_id": "bench/1", "seq": 0, "prev_hash": None}}
            for event in sample_events(count, seed=5)]
    codec, keyring = default_codec(), Keyring(settings)
    t0 = time.perf_counter()
    for event in pool:
        codec.encode(event)
    plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    for event in pool:
        codec.encode(keyring.seal(event)[0])
    sealed = time.perf_counter() - t0
    return {"seal_events": count, "encode_us": plain / count * 1e6, "seal_and_encode_us": sealed / count * 1e6}


def _retention(settings: Settings, bootstrap: str, db: Path) -> dict[str, Any]:
    for payload, tenant in ((RetentionSet(days=Decimal("0.000001")), RETAINED_TENANT), (RetentionRun(), "*")):
        publish_control(settings, bootstrap, tenant, payload, actor="service:bench", via="bench", reason="bench")
    con = open_store(db)
    try:
        [(stored,)] = con.execute("SELECT count(*) FROM events").fetchall()
        materializer = Materializer(settings, bootstrap, con)
        try:
            deadline = time.monotonic() + _STALL_S
            while not con.execute("SELECT count(*) FROM retention_runs").fetchall()[0][0]:
                if time.monotonic() > deadline:
                    raise BenchError("The retention run was not applied within a minute.")
                materializer.step()
            run_s = materializer.timings["project retention"]
        finally:
            materializer.close()
        [(removed,)] = con.execute("SELECT sum(removed) FROM retention_runs").fetchall()
    finally:
        con.close()
    verified = measure_verify(db, key_file=settings.signing_key_path)
    if verified.problems:
        raise BenchError(f"verify found {verified.problems} problem(s) after the retention run.")
    return {"stored": int(stored), "removed": int(removed), "retention_run_s": run_s,
            "verify_after_per_s": verified.events_per_s, "verify_after_events": verified.events}
