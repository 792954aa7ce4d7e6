"""Small JSON files beside the database that say which process owns what (broker, server).

A file whose process is gone is stale and treated as absent, so a crash never
leaves the CLI pointing at a dead address.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

_OPTIONS_WITH_VALUES = {"--db"}


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_name(pid: int) -> str:
    """The command line of ``pid`` for error messages, or ``process <pid>`` if unknown."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"process {pid}"
    words = [w for w in raw.decode("utf-8", "replace").split("\0") if w]
    program = next((i for i, w in enumerate(words) if w.endswith(("agenttrail", "agenttrail.cli"))), None)
    if program is not None:
        rest = iter(words[program + 1:])
        for word in rest:
            if word in _OPTIONS_WITH_VALUES:
                next(rest, None)
            elif not word.startswith("-"):
                return f"agenttrail {word} (PID {pid})"
    return f"{' '.join(words)[:80]} (PID {pid})"


def write_state(path: Path, data: dict[str, Any]) -> None:
    """Atomically record ``data`` (plus our pid) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**data, "pid": os.getpid()}), "utf-8")
    os.replace(tmp, path)


def read_live_state(path: Path) -> dict[str, Any] | None:
    """The state recorded at ``path`` if its process is still alive, else None."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not pid_alive(int(data.get("pid", -1))):
        return None
    return data


def remove_state(path: Path) -> None:
    """Remove ``path`` if this process wrote it."""
    data = read_live_state(path)
    if data is not None and data.get("pid") == os.getpid():
        path.unlink(missing_ok=True)
