"""`agenttrail export`: stored events to a SIEM, as OCSF or JSON lines, resumable from a named cursor.

Events leave in store order, a chunk at a time, through the same client as every
query (so through `serve` when it owns the database). Delivery is at least
once: a chunk is written or POSTed first, and only then does the cursor move, so
a crash in between sends that chunk again; every record carries the event id
(OCSF ``metadata.uid``) for the receiver to drop a repeat. Cursors live in
``<db>.export-cursors.json`` beside the database, written atomically.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

import httpx

from agenttrail._exceptions import ExportError
from agenttrail.client import QueryClient
from agenttrail.ocsf import to_ocsf

FORMATS = ("ocsf", "jsonl")
CHUNK = 1000
FOLLOW_POLL_S = 1.0


class Sink(Protocol):
    def write(self, lines: list[str]) -> None:
        """Deliver ``lines`` (JSON documents, no newlines) or raise ExportError; nothing is retried here."""


class StreamSink:
    """Lines to a text stream: stdout, or a file opened for appending."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, lines: list[str]) -> None:
        try:
            self.stream.write("".join(line + "\n" for line in lines))
            self.stream.flush()
        except OSError as exc:
            raise ExportError(f"The export could not be written ({exc.strerror or exc}); "
                              "free space or fix the path and run it again, it resumes at its cursor.") from None


class WebhookSink:
    """Each chunk POSTed as ``application/x-ndjson``; any answer but 2xx stops the export (the cursor stays)."""

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 30.0) -> None:
        self.url = url
        self.headers = {"Content-Type": "application/x-ndjson"} | (
            {"Authorization": f"Bearer {token}"} if token else {})
        self.timeout_s = timeout_s

    def write(self, lines: list[str]) -> None:
        body = "".join(line + "\n" for line in lines).encode()
        try:
            response = httpx.post(self.url, content=body, headers=self.headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise ExportError(f"The export's receiver did not answer ({type(exc).__name__}); "
                              "run it again when it does, it resumes at its cursor.") from None
        if not response.is_success:
            raise ExportError(f"The export's receiver answered {response.status_code}; "
                              "run it again when it accepts, it resumes at its cursor.")


class Cursors:
    """The last exported store_seq per cursor name, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, name: str) -> int | None:
        value = self._load().get(name)
        return int(value) if value is not None else None

    def set(self, name: str, store_seq: int) -> None:
        data = self._load() | {name: store_seq}
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(data, indent=1), "utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise ExportError(f"The export cursor could not be saved at {self.path} ({exc.strerror or exc}); "
                              "the last chunk will be sent again next time.") from None

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise ExportError(f"The export cursors at {self.path} are unreadable; fix or remove the file "
                              "(removing it starts every cursor from the beginning).") from None
        return data if isinstance(data, dict) else {}


def render(row: dict[str, Any], fmt: str) -> str:
    """One stored event as one line of JSON: mapped to OCSF, or the stored row as it is."""
    return json.dumps(to_ocsf(row) if fmt == "ocsf" else _jsonable(row), sort_keys=True, default=str)


def export(client: QueryClient, sink: Sink, *, fmt: str, cursors: Cursors | None = None, cursor: str | None = None,
           tenant: str | None = None, since: str | None = None, follow: bool = False,
           stop: threading.Event | None = None, on_chunk: Callable[[int], None] | None = None) -> int:
    """Send every stored event after the cursor (or from ``since``) to ``sink``; returns how many were sent.

    With ``follow`` it then waits for new events until ``stop`` is set. Raises ExportError when
    the sink or the cursor file fails, after which the cursor names the last chunk delivered.
    """
    if fmt not in FORMATS:
        raise ExportError(f"There is no export format {fmt!r}; use one of {', '.join(FORMATS)}.")
    stop = stop or threading.Event()
    after = cursors.get(cursor) if cursors is not None and cursor else None
    sent = 0
    while not stop.is_set():
        params = {"after": None if after is None else str(after), "tenant": tenant, "since": since,
                  "limit": str(CHUNK)}
        rows = client.query("export_events", params).to_pylist()
        if rows:
            sink.write([render(row, fmt) for row in rows])
            after = int(rows[-1]["store_seq"])
            if cursors is not None and cursor:
                cursors.set(cursor, after)
            sent += len(rows)
            if on_chunk is not None:
                on_chunk(len(rows))
        if len(rows) < CHUNK:
            if not follow:
                break
            stop.wait(FOLLOW_POLL_S)
    return sent


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its MAP of attributes as an object (Arrow gives a list of pairs)."""
    return {**row, "attributes": dict(row.get("attributes") or {})}
