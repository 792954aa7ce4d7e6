"""`agenttrail serve` as a process of its own on the bench's broker: the deployment shape a stage measures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agenttrail.bench.report import BenchError
from agenttrail.config import ENV_PREFIX, Settings
from agenttrail.runtime import read_live_state

START_TIMEOUT_S = 60.0


@dataclass
class Served:
    url: str
    pid: int
    db: Path


@contextmanager
def served(settings: Settings, bootstrap: str, work: Path, *, stage: str, admin: str) -> Iterator[Served]:
    """`agenttrail serve` with ``settings``' topics, key and DuckDB memory limit, on ``work/<stage>.duckdb``;
    stopped with SIGTERM. Raises BenchError, with the tail of its log, when it does not come up."""
    assert settings.fingerprint_key is not None
    db = work / f"{stage}.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)} | {
        f"{ENV_PREFIX}BOOTSTRAP": bootstrap, f"{ENV_PREFIX}TOPIC_PREFIX": settings.topic_prefix,
        f"{ENV_PREFIX}FINGERPRINT_KEY": settings.fingerprint_key.get_secret_value(),
        f"{ENV_PREFIX}DB": str(db), f"{ENV_PREFIX}API_TOKEN": admin,
    }
    if settings.duckdb_memory_limit:
        env[f"{ENV_PREFIX}DUCKDB_MEMORY_LIMIT"] = settings.duckdb_memory_limit
    log = work / f"{stage}.serve.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "agenttrail.cli", "serve", "--port", "0"], cwd=work,
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while (state := read_live_state(work / f"{stage}.server.json")) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"`agenttrail serve` did not start for the {stage} stage: "
                                 + log.read_text("utf-8")[-500:])
            time.sleep(0.1)
        yield Served(str(state["url"]), process.pid, db)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
