"""The producer's spool cannot take more while the broker is away: what it drops is declared, never a silence.

Two ways to run out of room: the spool's configured limit (``AGENTTRAIL_SPOOL_MAX_BYTES``),
and the disk itself (the agent process may write no file past 64 KiB: ``RLIMIT_FSIZE``, so
writes fail with EFBIG the way they fail with ENOSPC on a full disk). Either way the events
that could not be kept are counted, an ``audit.gap`` event declares their sequence numbers
once the broker answers again, and ``agenttrail verify`` finds every hole declared. A spool
directory that cannot be created at all is one sentence at ``connect``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agenttrail import SpoolError
from agenttrail.broker import EmbeddedBroker
from agenttrail.consumers.store import open_store
from agenttrail.producers.trail import connect
from tests.figures import Figure
from tests.fixtures import FINGERPRINT_KEY, SettingsFactory, cli_as, materialize

ROOT = Path(__file__).resolve().parents[2]
ROOM = 64 * 1024  # what the spool may hold, by its setting or by the disk


@pytest.mark.parametrize("limit", ["setting", "disk"])
def test_a_full_spool_drops_what_it_cannot_keep_and_declares_it(
    limit: str, pausable_broker: EmbeddedBroker, settings_factory: SettingsFactory, figure: Figure
) -> None:
    settings = settings_factory(bootstrap=pausable_broker.bootstrap, delivery_timeout_ms=500)
    env = os.environ | {"AGENTTRAIL_BOOTSTRAP": pausable_broker.bootstrap, "AGENTTRAIL_TOPIC_PREFIX":
                        settings.topic_prefix, "AGENTTRAIL_FINGERPRINT_KEY": FINGERPRINT_KEY,
                        "AGENTTRAIL_SPOOL_DIR": str(settings.spool_dir), "AGENTTRAIL_DELIVERY_TIMEOUT_MS": "500",
                        "AGENTTRAIL_GUARD": "false",
                        "AGENTTRAIL_SPOOL_MAX_BYTES": str(ROOM if limit == "setting" else 256 * ROOM)}
    agent = subprocess.Popen([sys.executable, "-m", "tests.faults.spool_agent"], cwd=ROOT, env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             preexec_fn=_small_disk if limit == "disk" else None)

    def ask(command: str) -> dict[str, Any]:
        assert agent.stdin is not None and agent.stdout is not None
        agent.stdin.write(command + "\n")
        agent.stdin.flush()
        answer = agent.stdout.readline()
        assert answer, f"the agent died: exit {agent.wait()}"
        return dict(json.loads(answer))

    try:
        ask("emit 50")
        pausable_broker.pause()
        try:
            during = ask("emit 200")
        finally:
            pausable_broker.resume()
        final = ask("close")
    finally:
        agent.wait(30)
    con = open_store(settings.db)
    materialize(settings, con, until=250 - final["dropped"] + 1)
    [(stored, gap_events, declared, reasons)] = con.execute(
        "SELECT count(*) FILTER (WHERE action_type = 'tool.call'), count(*) FILTER (WHERE action_type = 'audit.gap'), "
        "(SELECT coalesce(sum(dropped), 0) FROM stream_gap_declarations), "
        "list_distinct(list(attributes['reason']) FILTER (WHERE action_type = 'audit.gap')) FROM events").fetchall()
    con.close()
    verified = cli_as(settings, "auditor")("verify")
    figure(f"250 emitted, 200 of them while the broker was paused and the spool had room for {ROOM // 1024} KiB "
           f"({'its setting' if limit == 'setting' else 'a full disk: EFBIG'}): {during['spooled']} spooled / "
           f"{final['dropped']} dropped / {stored} stored / {gap_events} audit.gap event ({' '.join(reasons)}) "
           f"declaring {declared}; "
           f"verify {'clean' if verified.returncode == 0 else 'FAILED'}")
    assert 0 < final["dropped"] < 200 and during["spooled"] > 0, "the spool filled part of the way through"
    assert stored + final["dropped"] == 250, "every event stored or counted as dropped"
    assert declared == final["dropped"] and gap_events >= 1, "every dropped event declared"
    assert reasons == ["spool_full" if limit == "setting" else "spool_unwritable"]
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "declared by audit.gap" in verified.stdout


def test_a_spool_directory_that_cannot_be_created_is_one_sentence_at_connect(
    settings_factory: SettingsFactory, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-regular-file"
    blocker.write_text("tests run as root, so 'unwritable' is a path under a regular file")
    with pytest.raises(SpoolError, match=r"^The spool directory .* cannot be written .*AGENTTRAIL_SPOOL_DIR"):
        connect(tenant="acme", agent_id="a", agent_version="1", region="eu-west-1", principal="human:alice",
                settings=settings_factory(spool_dir=blocker / "spool"))


def _small_disk() -> None:
    """In the agent process, before it starts: no file it writes may grow past ROOM (EFBIG beyond)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (ROOM, ROOM))
