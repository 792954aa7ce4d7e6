"""An agent process for spool faults: ``python -m tests.faults.spool_agent``, driven line by line on stdin.

It runs in a process of its own so a test can limit what it may write to disk
(``RLIMIT_FSIZE``: a full disk, for its spool alone). Settings come from the environment
(``AGENTTRAIL_*``). Commands, one per line; each answers one JSON line of the emitter's
counters once everything submitted so far is settled (acked, spooled or dropped):

    emit N    record N actions (about 1 KB each), in steps of 20, letting the sender settle after each
    close     flush (waits for the spool to drain) and close; then the process exits
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict

from agenttrail.producers.trail import Trail, connect

PADDING = "x" * 1000
STEP = 20


def main() -> None:
    trail = connect(tenant="acme", agent_id="spooling-agent", agent_version="1", region="eu-west-1",
                    principal="human:alice")
    emitted = 0
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "emit":
            for start in range(0, int(argument), STEP):
                for _ in range(min(STEP, int(argument) - start)):
                    with trail.action("tool.call", f"call-{emitted}", attributes={"padding": PADDING}):
                        emitted += 1
                _settle(trail)
        elif command == "close":
            trail.close(timeout=60)
        _answer(trail)
        if command == "close":
            return


def _settle(trail: Trail, timeout: float = 30.0) -> None:
    stats, deadline = trail.emitter.stats, time.monotonic() + timeout
    while stats.acked + stats.spooled + stats.dropped < stats.submitted and time.monotonic() < deadline:
        time.sleep(0.01)


def _answer(trail: Trail) -> None:
    print(json.dumps(asdict(trail.emitter.stats) | {"degraded": trail.emitter.degraded}), flush=True)


if __name__ == "__main__":
    main()
