"""SIGKILL the materializer process again and again: the store ends equal to what was produced.

Each kill leaves committed batches in DuckDB's write-ahead log (a checkpoint waits for 128 MB of
it), so every reopen after a kill replays the WAL: the rows and the offsets committed with them
must come back together, and the projections must still equal a replay of the stored events.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agenttrail.consumers.store import open_store
from agenttrail.producers.trail import connect
from tests.figures import Figure
from tests.fixtures import FINGERPRINT_KEY, SettingsFactory, cli_as, materialize, scaled

KILLS = 5


@pytest.mark.slow
def test_consumer_killed_mid_batch_loses_nothing_and_doubles_nothing(
    kafka_client: str, settings_factory: SettingsFactory, tmp_path: Path, figure: Figure
) -> None:
    settings = settings_factory(batch_max_records=500)
    trail = connect(tenant="acme", agent_id="busy-agent", agent_version="1", region="eu-west-1",
                    principal="service:nightly-batch", settings=settings)  # no person: each record is an event
    total = scaled(30_000)
    produced: list[str] = []

    def produce_steadily() -> None:
        """Spread production over the kill loop, so every kill lands while batches are written."""
        for i in range(total):
            with trail.action("llm.call", f"call-{i}") as act:
                act.set_cost("0.000001000", "USD", input_tokens=i, output_tokens=1)
            produced.append(act.event_id)
            if i % 500 == 499:
                time.sleep(KILLS * 3.0 / (total / 500))

    producer = threading.Thread(target=produce_steadily)
    producer.start()

    env = os.environ | {
        "AGENTTRAIL_BOOTSTRAP": settings.bootstrap or "",
        "AGENTTRAIL_TOPIC_PREFIX": settings.topic_prefix,
        "AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY,
        "AGENTTRAIL_BATCH_MAX_RECORDS": "500",
    }
    rng = random.Random(3)
    progress = []
    for _ in range(KILLS):
        consumer = subprocess.Popen(
            [sys.executable, "-m", "agenttrail.cli", "--db", str(settings.db), "consume"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        _wait_for_a_commit(settings.db, consumer)  # start-up time varies with load; a kill must land mid-stream
        time.sleep(rng.uniform(0.2, 0.8))
        consumer.send_signal(signal.SIGKILL)
        consumer.wait()
        con = open_store(settings.db, read_only=True)  # replays the WAL the killed process left
        stored, committed = con.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets "
            "WHERE topic = ?)", [settings.topic("actions")]).fetchone()
        con.close()
        assert stored == committed, "the offsets came back from the WAL with exactly their rows"
        progress.append(stored)

    producer.join()
    assert trail.flush(120)
    trail.close()
    con = open_store(settings.db)
    final = materialize(settings, con, until=total, timeout=120)
    ids = [r[0] for r in con.execute("SELECT event_id FROM events").fetchall()]
    seqs = con.execute("SELECT count(DISTINCT store_seq), count(*) FROM events").fetchone()
    con.close()
    agenttrail = cli_as(settings, "auditor")
    rebuilt, verified = agenttrail("rebuild", "--check"), agenttrail("verify")
    figure(f"{total:,} produced / {final:,} stored / {len(ids) - len(set(ids))} duplicates with the consumer "
           f"SIGKILLed {KILLS} times mid-batch (stored after each kill, WAL replayed: {progress}); "
           f"rebuild --check {'equal' if rebuilt.returncode == 0 else 'DIFFERENT'}, "
           f"verify {'clean' if verified.returncode == 0 else 'FAILED'}")
    assert progress[0] > 0 and progress[-2] < progress[-1] < total, "every kill landed mid-stream"
    assert final == total == len(set(ids))
    assert set(ids) == set(produced)
    assert seqs is not None and seqs[0] == seqs[1], "store order has no duplicates"
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _wait_for_a_commit(db: Path, consumer: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Until the consumer's write-ahead log grew by a committed batch (a 500-event batch is ~250 KB).

    The database cannot be opened to look while the consumer holds it, so its WAL file tells: the
    consumer may first fold the WAL a killed predecessor left into the database (the WAL shrinks),
    and then grows it again with each commit.
    """
    wal = db.with_name(db.name + ".wal")
    base = wal.stat().st_size if wal.exists() else 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and consumer.poll() is None:
        size = wal.stat().st_size if wal.exists() else 0
        base = min(base, size)
        if size > base + 64 * 1024:
            return
        time.sleep(0.02)
    raise AssertionError("the consumer committed nothing in time")
