"""The leak endpoints: GitHub's secret scanning reports, a person's report, and a token's blast radius.

``POST /v1/leaks/github`` speaks GitHub's secret scanning partner program
(``agenttrail.github_secret_scanning``). GitHub cannot send our bearer token, so the
report is its own credential: its ECDSA signature must verify with a key listed in
``AGENTTRAIL_LEAK_KEYS_FILE`` before the body is even parsed (401 otherwise, and
without that file every report is refused with 503); a body over 1 MiB is a 413 and
a malformed one a 400; in each case nothing is recorded. Each raw token is
fingerprinted on arrival and its SHA-256 kept only for the answer; neither is
stored or logged. ``POST /v1/leaks`` is a person's report, by fingerprint or raw
token, with the admin token. ``GET /v1/tokens/{fingerprint}/blast-radius`` is a read:
the reader's token and tenant apply, the access log records it, and the answer is
JSON or, with ``format=html``, the report page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agenttrail._exceptions import ConfigError, EventNotFoundError, LeakReportError, LeakSignatureError
from agenttrail.access_log import ROWS_HEADER
from agenttrail.blast_radius import TIMELINE_LIMIT, TIMELINE_MAX, blast_radius
from agenttrail.blast_radius_html import REPORT_HEADERS, render_html
from agenttrail.callers import Caller
from agenttrail.enforcement_api import Changes, fingerprint_of, first_problem
from agenttrail.github_secret_scanning import KEY_HEADER, SIGNATURE_HEADER, SigningKeys, parse_matches
from agenttrail.leak_reports import Leak, RecordedLeak, known_tokens, record_leaks
from agenttrail.schemas.control import ControlEvent, ControlPayload
from agenttrail.timeparse import parse_time

MAX_BODY_BYTES = 1 << 20
GITHUB_ACTOR = "service:github-secret-scanning"


@dataclass(frozen=True)
class LeakOptions:
    """What the leak endpoints need beyond the server's common parts."""

    github_keys: SigningKeys | None = None  # None: the GitHub intake refuses every report (503)
    sensitive_actions: tuple[str, ...] = ()  # action types whose resources a blast radius lists first


class LeakRequest(BaseModel):
    """The body of ``POST /v1/leaks``: exactly one of fingerprint or (raw) token, and where it was exposed."""

    model_config = ConfigDict(extra="forbid")

    fingerprint: str | None = None
    token: str | None = Field(default=None, min_length=1, max_length=8192)
    source_url: str = Field(default="", max_length=2000)
    exposed_at: datetime | None = None
    actor: str = Field(default="service:http", pattern=r"^(human|agent|service):.+$")
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _one_token(self) -> LeakRequest:
        if (self.fingerprint is None) == (self.token is None):
            raise ValueError("give exactly one of fingerprint or token")
        return self


def leak_router(cursor_factory: Callable[[], duckdb.DuckDBPyConnection], *, writes: list[Any],
                reader: Callable[..., Any], publish: Changes | None, fingerprint: Callable[[str], str] | None,
                options: LeakOptions) -> APIRouter:
    """The routes; ``writes`` are the admin's auth dependencies, ``reader`` names who reads."""
    router = APIRouter()

    def record(leaks: list[Leak], reporter: str, actor: str, reason: str | None) -> list[RecordedLeak]:
        if publish is None:
            raise HTTPException(status_code=503, detail="This server records no control events.")

        def known(fingerprints: Sequence[str]) -> dict[str, str]:
            with cursor_factory() as cursor:
                return known_tokens(cursor, fingerprints)

        def send(changes: Sequence[tuple[str, ControlPayload]]) -> list[ControlEvent]:
            assert publish is not None
            return publish(changes, actor, reason)

        try:
            return record_leaks(leaks, reporter=reporter, known=known, publish=send)
        except LeakReportError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None

    @router.post("/v1/leaks/github")
    async def post_github(request: Request) -> JSONResponse:
        """A report from GitHub's secret scanning partner program: signed, answered with a label per token."""
        if options.github_keys is None or fingerprint is None:
            raise HTTPException(status_code=503, detail="This server takes no GitHub leak reports: set "
                                                        "AGENTTRAIL_LEAK_KEYS_FILE to GitHub's key list.")
        body = await _limited_body(request)
        try:
            key_id = options.github_keys.verify(request.headers.get(KEY_HEADER),
                                                request.headers.get(SIGNATURE_HEADER), body)
            matches = parse_matches(body)
        except LeakSignatureError as exc:
            raise HTTPException(status_code=401, detail=str(exc)) from None
        except LeakReportError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except ConfigError as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from None
        leaks = [Leak(fingerprint(m.token), m.url, None, m.type, m.source) for m in matches]
        recorded = await run_in_threadpool(record, leaks, f"github:{key_id[:64]}", GITHUB_ACTOR, None)
        return JSONResponse([match.answer(leak.label) for match, leak in zip(matches, recorded, strict=True)])

    @router.post("/v1/leaks", dependencies=writes)
    async def post_leak(request: Request) -> dict[str, Any]:
        """A person's report of a leaked token: recorded, and its tree revoked when the lineage knows it."""
        ask = await _parsed(request)
        fp = ask.fingerprint or fingerprint_of(ask.token or "", fingerprint)
        leak = Leak(fp, ask.source_url, ask.exposed_at)
        [done] = await run_in_threadpool(record, [leak], ask.actor, ask.actor, ask.reason)
        return {"event_id": done.event_id, "fingerprint": done.fingerprint, "label": done.label,
                "tenant": done.tenant}

    @router.get("/v1/tokens/{fingerprint}/blast-radius")
    def get_blast_radius(fingerprint: str, since: str | None = None, as_of: str | None = None,
                         format: str = "json", limit: int = TIMELINE_LIMIT,
                         caller: Caller = Depends(reader)) -> Response:
        """Everything the token and every token minted from it did since exposure (JSON, or format=html)."""
        if format not in ("json", "html") or not 1 <= limit <= TIMELINE_MAX:
            raise HTTPException(status_code=400, detail=f"format is json or html; limit is 1 to {TIMELINE_MAX:,}.")
        window = {"since": parse_time(since, label="since") if since else None,
                  "as_of": parse_time(as_of, label="as_of") if as_of else None}
        try:
            with cursor_factory() as cursor:
                report = blast_radius(cursor, fingerprint, tenant=caller.tenant, limit=limit,
                                      sensitive_actions=options.sensitive_actions, **window)
        except EventNotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        rows, document = {ROWS_HEADER: str(report.timeline.num_rows)}, report.to_dict()
        if format == "html":
            return HTMLResponse(render_html(document), headers=rows | REPORT_HEADERS)
        return JSONResponse(document, headers=rows)

    return router


async def _limited_body(request: Request) -> bytes:
    """The raw body (it is what GitHub signed), refused with 413 past MAX_BODY_BYTES without reading on."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status_code=413, detail=f"A leak report is at most {MAX_BODY_BYTES:,} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(status_code=413, detail=f"A leak report is at most {MAX_BODY_BYTES:,} bytes.")
    return bytes(body)


async def _parsed(request: Request) -> LeakRequest:
    try:
        return LeakRequest.model_validate(json.loads(await request.body() or b"null"))
    except ValueError as exc:  # json.JSONDecodeError and pydantic's ValidationError are ValueErrors
        raise HTTPException(status_code=400, detail=first_problem(exc)) from None
