"""`agenttrail import cloudtrail`: AWS CloudTrail log files into the trail, each record once.

Reads the files CloudTrail delivers to S3 (``{"Records": [...]}``, ``.json`` or
``.json.gz``), a file or a directory tree of them, in name order (which for CloudTrail's
names is account, region, then time). Each record becomes an AgentAction
(``agenttrail.producers.cloudtrail``) whose event id is derived from the tenant and
CloudTrail's eventID, emitted through the SDK's emitter into one stream per import run.

Re-importing adds nothing: before emitting, each chunk of records is checked against
what the store holds for the tenant from CloudTrail in that chunk's time range (the
``imported_events`` query, through ``agenttrail serve`` when one runs, else on the
file) and against what this run emitted already (the same record in two trails' files).
When a server runs, the import then waits until the store has everything it sent, so
an import started right after finds it. A record that cannot be an event is reported
with its file, position and reason, and the import goes on; so does a file that cannot
be read.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agenttrail.broker import resolve_bootstrap
from agenttrail.client import QueryClient
from agenttrail.config import Settings
from agenttrail.consumers.intake import check
from agenttrail.ingest import Claims, unsent_events
from agenttrail.producers.cloudtrail import map_record
from agenttrail.producers.emitter import Emitter
from agenttrail.producers.ids import new_span_id
from agenttrail.producers.spool import Spool
from agenttrail.schemas.fingerprints import Fingerprinter
from agenttrail.schemas.models import AgentAction

SOURCE = "cloudtrail"
CHUNK = 2000  # records checked against the store at once
_LOG_FILE = re.compile(r"\.json(\.gz)?$")


@dataclass(frozen=True)
class BadRecord:
    file: str
    record: int | None  # position in the file's Records; None: the whole file
    event_id: str | None  # CloudTrail's eventID, when the record has one
    reason: str


@dataclass
class ImportReport:
    files: int = 0
    records: int = 0
    emitted: int = 0  # new events sent
    already: int = 0  # records stored before, or met twice in this run
    bad: list[BadRecord] = field(default_factory=list)
    unsent: int = 0  # emitted but not acknowledged by Kafka when the import ended (in the spool for the next run)
    waiting: int | None = None  # emitted and not in the store when the import stopped waiting; None: not waited


def log_files(paths: Iterable[Path]) -> list[Path]:
    """The files to read: each file given, and every ``*.json``/``*.json.gz`` under each directory, sorted.

    CloudTrail's digest files (``*_CloudTrail-Digest_*``), delivered beside the logs, hold no records
    and are passed over.
    """
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(p for p in path.rglob("*") if p.is_file() and _LOG_FILE.search(p.name)
                            and "CloudTrail-Digest" not in p.name) if path.is_dir() else [path])
    return found


def import_cloudtrail(paths: Iterable[Path], settings: Settings, tenant: str, *, wait_s: float = 60.0,
                      on_file: Callable[[ImportReport], None] | None = None) -> ImportReport:
    """Import every log file under ``paths`` for ``tenant``; ``on_file`` hears after each file."""
    files = log_files(paths)
    fingerprint = Fingerprinter(settings.fingerprint_key, settings.fingerprint_key_id).fingerprint
    client = QueryClient(settings)
    bootstrap = resolve_bootstrap(settings)
    spool = Spool(settings.spool_dir / f"import-{SOURCE}-{re.sub(r'[^A-Za-z0-9_.-]', '_', tenant)[:100]}",
                  settings.spool_max_bytes)
    try:
        claims = Claims(_stored_lookup(client, settings), unsent_events(spool))
        emitter = Emitter(settings, bootstrap, spool=spool)
    except BaseException:
        spool.close()
        raise
    report = ImportReport()
    stream_id = f"{SOURCE}/{tenant}/{new_span_id()}"
    skew = timedelta(seconds=settings.future_skew_s)
    pending: list[dict[str, Any]] = []
    try:
        for path in files:
            records = _records(path, report)
            for index, record in enumerate(records):
                event = _event(record, tenant, stream_id, fingerprint, skew)
                if isinstance(event, str):
                    report.bad.append(BadRecord(str(path), index, _event_id(record), event))
                else:
                    pending.append(event)
            report.files += 1
            report.records += len(records)
            if len(pending) >= CHUNK:
                _emit(pending, tenant, claims, emitter, report)
            if on_file is not None:
                on_file(report)
        _emit(pending, tenant, claims, emitter, report)
        if not emitter.flush(settings.delivery_timeout_ms / 1000 * 4):
            report.unsent = max(emitter.stats.submitted - emitter.stats.acked, 1)
    finally:
        emitter.close(timeout=5)
    if client.served and report.emitted:
        report.waiting = _wait_until_stored(claims, wait_s)
    return report


def _records(path: Path, report: ImportReport) -> list[Any]:
    """The file's Records, or none (and the reason in ``report``) when it cannot be read as a CloudTrail log."""
    try:
        raw = path.read_bytes()
        document = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    except (OSError, EOFError, ValueError) as exc:  # gzip.BadGzipFile, JSONDecodeError, UnicodeDecodeError
        report.bad.append(BadRecord(str(path), None, None, f"cannot be read as JSON: {str(exc)[:200]}"))
        return []
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        report.bad.append(BadRecord(str(path), None, None, 'not a CloudTrail log file: no "Records" list'))
        return []
    return records


def _event(record: Any, tenant: str, stream_id: str, fingerprint: Callable[[str], str],
           skew: timedelta) -> dict[str, Any] | str:
    """The record's event, checked by the contract's rules as the materializer would, or why not."""
    event = map_record(record, tenant, stream_id, fingerprint)
    if isinstance(event, str):
        return event
    try:
        AgentAction.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    rejection = check(event, datetime.now(UTC), skew)
    return rejection.detail if rejection is not None else event


def _emit(pending: list[dict[str, Any]], tenant: str, claims: Claims, emitter: Emitter,
          report: ImportReport) -> None:
    fresh = claims.claim(tenant, pending)
    for event in fresh:
        emitter.submit(event)
    report.emitted += len(fresh)
    report.already += len(pending) - len(fresh)
    pending.clear()


def _stored_lookup(client: QueryClient, settings: Settings) -> Callable[[str, list[str], datetime, datetime], set[str]]:
    """Which of a chunk's event ids the store holds, through the server or on the file (none without a file)."""
    def lookup(tenant: str, ids: list[str], since: datetime, until: datetime) -> set[str]:
        if not client.served and not settings.db.exists():
            return set()
        table = client.query("imported_events", {"tenant": tenant, "source": SOURCE, "since": since.isoformat(),
                                                 "until": until.isoformat()})
        return set(table.column("event_id").to_pylist()) & set(ids)
    return lookup


def _wait_until_stored(claims: Claims, wait_s: float) -> int:
    """Wait until the store has every event this run emitted; how many it still lacks after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while (left := claims.settle()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def _event_id(record: Any) -> str | None:
    event_id = record.get("eventID") if isinstance(record, dict) else None
    return str(event_id)[:100] if event_id else None
