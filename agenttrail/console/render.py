"""A ``Page`` as HTML (Jinja2, autoescaped), JSON or CSV; and the headers every console answer carries.

Stored values are attacker-controlled, so templates never mark a value safe:
Jinja2's autoescape turns ``<script>`` in an attribute into text, in element
content and attribute values alike, and chart data travels as JSON inside a
``<script type="application/json">`` block through ``tojson``, which escapes
``<``, ``>``, ``&`` and quotes. The Content-Security-Policy allows scripts and
styles from the server's own files only, so even a value that escaped would not
run. JSON and CSV are the API's own encodings (``agenttrail.output``).
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from agenttrail.access_log import ROWS_HEADER
from agenttrail.chaintree import trim_amount
from agenttrail.console.pages import Page
from agenttrail.console.sessions import Visitor
from agenttrail.output import render as render_table
from agenttrail.output import to_records

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Page URLs carry fingerprints and filters: never to another site. (no-referrer would make the browser
    # send "Origin: null" on the sign-in form, which the same-origin check must refuse.)
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cache-Control": "no-store",  # trail data stays off shared disks and back-button caches
}


def _when(value: str | None) -> str:
    """``2026-12-04T10:11:12.345678+00:00`` as ``2026-12-04 10:11:12.345`` (UTC, as stored)."""
    return "" if value is None else str(value).replace("T", " ")[:23]


def _money(amount: str | None, currency: str | None = None) -> str:
    return "" if amount is None else f"{trim_amount(str(amount))} {currency or ''}".strip()


def _as_json(value: Any) -> str:
    """A map or list as JSON text, for display: a plain string, so autoescape makes it inert."""
    return json.dumps(value, ensure_ascii=False)


def _query(base: str, **params: Any) -> str:
    """``base`` with ``params`` as its query string; None and "" are left out."""
    given = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{base}?{urlencode(given)}" if given else base


_ENV = Environment(loader=PackageLoader("agenttrail.console", "templates"), autoescape=True,
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update(when=_when, money=_money, as_json=_as_json)
_ENV.globals.update(link=_query)


def html(page: Page, request: Request, visitor: Visitor, *, status: int = 200) -> HTMLResponse:
    params = dict(request.query_params)
    exports = {"json": _query(request.url.path, **params, format="json"),
               "csv": {name: _query(request.url.path, **params, format="csv", section=name)
                       for name in page.sections}}
    body = _ENV.get_template(f"{page.name}.html").render(
        page=page, ctx=page.context, visitor=visitor, exports=exports, path=request.url.path,
        csrf=visitor.session.csrf if visitor.session else "")
    return HTMLResponse(body, status_code=status, headers={ROWS_HEADER: str(page.rows)})


def export(page: Page, fmt: str, section: str | None) -> Response:
    """The page's sections as one JSON object, or one section (the first by default) as CSV."""
    rows = {ROWS_HEADER: str(page.rows)}
    if fmt == "csv":
        name = section if section in page.sections else next(iter(page.sections))
        text = io.StringIO()
        render_table(page.sections[name], "csv", stream=text)
        return Response(text.getvalue(), media_type="text/csv", headers={
            **rows, "Content-Disposition": f'attachment; filename="{page.name}-{name}.csv"'})
    body: dict[str, Any] = {"page": page.name, "title": page.title,
                            "sections": {name: to_records(table) for name, table in page.sections.items()}}
    if "next_before" in page.context:
        body["next_before"] = page.context["next_before"]
    return JSONResponse(body, headers=rows)


def message(request: Request, visitor: Visitor | None, title: str, text: str, *, status: int) -> HTMLResponse:
    """A page that only says something: an error, or the sign-in form (``title`` "Sign in")."""
    body = _ENV.get_template("message.html").render(
        title=title, text=text, visitor=visitor, path=request.url.path,
        next=request.query_params.get("next") or "/ui/trail", csrf="")
    return HTMLResponse(body, status_code=status)
