"""`agenttrail serve` as its own process on the bench's broker, as a deployment runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agenttrail.bench.report import BenchError
from agenttrail.config import ENV_PREFIX, Settings
from agenttrail.runtime import read_live_state

START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Served:
    url: str
    pid: int
    db: Path


@contextmanager
def served(settings: Settings, bootstrap: str, work: Path, *, name: str, env: dict[str, str]) -> Iterator[Served]:
    """Serve ``work/<name>.duckdb`` with ``env`` (``AGENTTRAIL_*`` keys) on top of the bench's settings, its
    topics, key and DuckDB memory limit.

    Stopped with SIGTERM; its output is in ``work/<name>-serve.log``. Raises BenchError when it does not start.
    """
    assert settings.fingerprint_key is not None
    db = work / f"{name}.duckdb"
    memory = {f"{ENV_PREFIX}DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit} if settings.duckdb_memory_limit else {}
    process_env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)} | {
        f"{ENV_PREFIX}BOOTSTRAP": bootstrap, f"{ENV_PREFIX}TOPIC_PREFIX": settings.topic_prefix,
        f"{ENV_PREFIX}FINGERPRINT_KEY": settings.fingerprint_key.get_secret_value(),
        f"{ENV_PREFIX}DB": str(db), **memory, **env,
    }
    log_path = work / f"{name}-serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "agenttrail.cli", "serve", "--port", "0"], cwd=work,
                                   env=process_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while (state := read_live_state(work / f"{name}.server.json")) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"`agenttrail serve` did not start for the {name} stage: "
                                 + log_path.read_text("utf-8")[-500:])
            time.sleep(0.1)
        yield Served(str(state["url"]), process.pid, db)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def waited(check: Callable[[], bool], what: str) -> None:
    """Return once ``check()`` is true; BenchError after START_TIMEOUT_S (the bench's server never got there)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not check():
        if time.monotonic() > deadline:
            raise BenchError(f"The bench's `agenttrail serve` did not store {what} within {START_TIMEOUT_S:g} s; "
                             "its output is in the bench directory's *-serve.log.")
        time.sleep(0.05)
