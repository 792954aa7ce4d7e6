"""The console's routes on the server's app: pages under ``/ui/``, their exports, sign-in, and the two writes.

Every page is a GET with a stable URL; ``?format=json`` returns every section it
shows and ``?format=csv&section=NAME`` one of them. Reads follow the API's rules
(``agenttrail.callers``): without ``--auth`` anyone on the bind address reads
every tenant, with it a signed-in token is needed, and a tenant-scoped token
sees its tenant alone. Each page view and export is recorded in the access log
(``PAGE_ROUTES``, recorded by ``agenttrail.access_log.RecordReads``). The writes
(acknowledge a flag, revoke a token) need the admin token and, from a session,
its CSRF token; they publish the same control events as the CLI and the API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import duckdb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from agenttrail import sql
from agenttrail._exceptions import EventNotFoundError, QueryError
from agenttrail.blast_radius import blast_radius
from agenttrail.blast_radius_html import REPORT_HEADERS, render_html
from agenttrail.callers import ANONYMOUS
from agenttrail.console import governance_pages, pages, people_pages
from agenttrail.console.headers import SecureConsole
from agenttrail.console.pages import Ask, Page
from agenttrail.console.render import export, html, message
from agenttrail.console.sessions import COOKIE, Sessions, Visitor, csrf_holds
from agenttrail.enforcement_api import Publish, tenant_of_token, validated_payload
from agenttrail.queries import run_query
from agenttrail.schemas.control import AnomalyAcknowledged, ControlEvent, ControlPayload, TokenRevoked

CursorFactory = Callable[[], duckdb.DuckDBPyConnection]
PAGE_ROUTES = frozenset({"/ui/trail", "/ui/events/{event_id}", "/ui/principals/{principal_id:path}",
                         "/ui/agents/{agent_id:path}", "/ui/spend", "/ui/anomalies", "/ui/tokens",
                         "/ui/tokens/{fingerprint}", "/ui/tokens/{fingerprint}/blast-radius"})


def mount_console(app: FastAPI, cursor_factory: CursorFactory, *, sessions: Sessions, auth_reads: bool,
                  publish: Publish | None, public_key: Callable[[], Ed25519PublicKey],
                  sensitive_actions: Sequence[str] = ()) -> None:
    """Add the console to ``app``: its routes, its static files and its security headers.

    ``sensitive_actions``: the action types whose resources a token's blast radius lists first."""
    app.include_router(_router(cursor_factory, sessions, auth_reads, publish, public_key, sensitive_actions))
    static = resources.files("agenttrail.console").joinpath("static")
    app.mount("/ui/static", StaticFiles(directory=str(static)), name="console-static")
    app.add_middleware(SecureConsole)


def _router(cursor_factory: CursorFactory, sessions: Sessions, auth_reads: bool, publish: Publish | None,
            public_key: Callable[[], Ed25519PublicKey], sensitive_actions: Sequence[str]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def reader(request: Request) -> Visitor:
        """Who reads; 401 for an unknown token, or for nobody when reads need a token."""
        visitor = sessions.visitor(request)
        if visitor is None or (auth_reads and visitor.caller is ANONYMOUS):
            raise HTTPException(status_code=401, detail="Sign in with an API token to read the trail.")
        request.state.caller = visitor.caller  # the access log names this caller
        return visitor

    def show(request: Request, build: Callable[[Ask], Page | Response]) -> Response:
        """A page for its reader, in the asked format; a build that answers for itself (a report) is sent as is."""
        fmt = request.query_params.get("format", "html")
        try:
            visitor = reader(request)
            with cursor_factory() as cursor:
                params = {k: v for k, v in request.query_params.items() if k not in ("format", "section")}
                page = build(Ask(cursor, visitor.caller, params, public_key))
        except HTTPException as exc:
            if exc.status_code == 401 and fmt == "html":
                return RedirectResponse("/ui/login?" + urlencode({"next": str(request.url.path)}), status_code=303)
            return _failure(request, sessions.visitor(request), fmt, exc.status_code, str(exc.detail))
        except EventNotFoundError as exc:
            return _failure(request, sessions.visitor(request), fmt, 404, str(exc))
        except QueryError as exc:
            return _failure(request, sessions.visitor(request), fmt, 400, str(exc))
        if isinstance(page, Response):
            return page
        if fmt in ("json", "csv"):
            return export(page, fmt, request.query_params.get("section"))
        return html(page, request, visitor)

    @router.get("/")
    def home() -> RedirectResponse:
        return RedirectResponse("/ui/trail", status_code=303)

    @router.get("/ui/trail")
    def trail(request: Request) -> Response:
        return show(request, pages.trail)

    @router.get("/ui/events/{event_id}")
    def event(request: Request, event_id: str) -> Response:
        return show(request, lambda ask: pages.event(ask, event_id))

    @router.get("/ui/principals/{principal_id:path}")
    def principal(request: Request, principal_id: str) -> Response:
        return show(request, lambda ask: people_pages.principal(ask, principal_id))

    @router.get("/ui/agents/{agent_id:path}")
    def agent(request: Request, agent_id: str) -> Response:
        return show(request, lambda ask: people_pages.agent(ask, agent_id))

    @router.get("/ui/spend")
    def spend(request: Request) -> Response:
        return show(request, governance_pages.spend)

    @router.get("/ui/anomalies")
    def anomalies(request: Request) -> Response:
        return show(request, governance_pages.anomalies)

    @router.get("/ui/tokens")
    def tokens(request: Request) -> Response:
        return show(request, governance_pages.tokens)

    @router.get("/ui/tokens/{fingerprint}")
    def token(request: Request, fingerprint: str) -> Response:
        return show(request, lambda ask: governance_pages.token(ask, fingerprint))

    @router.get("/ui/tokens/{fingerprint}/blast-radius")
    def token_blast_radius(request: Request, fingerprint: str) -> Response:
        """The incident report of everything the token's lineage did (the JSON is the API's, with since/as_of)."""
        def report(ask: Ask) -> Response:
            found = blast_radius(ask.cursor, fingerprint, tenant=ask.caller.tenant,
                                 sensitive_actions=sensitive_actions)
            return HTMLResponse(render_html(found.to_dict()), headers=REPORT_HEADERS)

        return show(request, report)

    @router.get("/ui/changes")
    def changes(request: Request) -> dict[str, Any]:
        """What live pages poll (no trail data, so not recorded): a number that moves when the store does."""
        visitor = reader(request)
        with cursor_factory() as cursor:
            [(events, governance)] = cursor.execute(sql.text("console_version"),
                                                    {"tenant": visitor.caller.tenant}).fetchall()
        return {"version": f"{events}.{governance}"}

    @router.get("/ui/login")
    def login_form(request: Request) -> Response:
        return message(request, sessions.visitor(request), "Sign in", "", status=200)

    @router.post("/ui/login")
    async def login(request: Request) -> Response:
        _same_origin(request)  # no other site signs a browser in as someone else
        form = await request.form()
        signed = sessions.sign_in(str(form.get("token", "")), str(form.get("name", "")) or None)
        if signed is None:
            return message(request, None, "Sign in", "That token is not one this server knows.", status=401)
        session_id, _ = signed
        target = str(form.get("next", ""))
        response = RedirectResponse(target if target.startswith("/ui/") else "/ui/trail", status_code=303)
        response.set_cookie(COOKIE, session_id, max_age=int(sessions.seconds), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    @router.post("/ui/logout")
    def logout(request: Request) -> Response:
        sessions.sign_out(request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/ui/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def writer(request: Request) -> tuple[Visitor, dict[str, str]]:
        """The admin, from the same origin with the session's CSRF token, and the form they sent."""
        visitor = sessions.visitor(request)
        if visitor is None or not visitor.caller.admin:
            raise HTTPException(status_code=401, detail="Changes need the admin token: sign in with it.")
        _same_origin(request)
        if not csrf_holds(visitor, request.headers.get("x-csrf-token")):
            raise HTTPException(status_code=403, detail="This change lacks the page's CSRF token; reload the page.")
        form = await request.form()
        return visitor, {key: str(value).strip() for key, value in form.items()}

    @router.post("/ui/anomalies/ack")
    async def acknowledge(request: Request) -> JSONResponse:
        visitor, form = await writer(request)
        payload = validated_payload(AnomalyAcknowledged, flag_id=form.get("flag_id", ""), note=form.get("note", ""))
        tenant = await run_in_threadpool(_flag_tenant, cursor_factory, form["flag_id"])
        event = await run_in_threadpool(_publish, publish, tenant, payload, visitor.actor, None)
        return JSONResponse({"event_id": event.event_id, "kind": event.kind,
                             "message": "Acknowledged; the flag closes as soon as the change is stored."})

    @router.post("/ui/tokens/revoke")
    async def revoke(request: Request) -> JSONResponse:
        visitor, form = await writer(request)
        if not form.get("reason"):
            raise HTTPException(status_code=400, detail="Say why the token is revoked: a reason is required.")
        payload = validated_payload(TokenRevoked, fingerprint=form.get("fingerprint", ""),
                                    tree=form.get("tree") == "true")
        tenant = await run_in_threadpool(tenant_of_token, cursor_factory, form["fingerprint"])
        event = await run_in_threadpool(_publish, publish, tenant, payload, visitor.actor, form["reason"])
        return JSONResponse({"event_id": event.event_id, "kind": event.kind,
                             "message": "Revoked; every enforcement point hears it as soon as it is stored."})

    return router


def _same_origin(request: Request) -> None:
    """403 when the browser says the form came from another site (browsers send Origin on every POST)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(status_code=403, detail="Accepted only from the console's own pages.")


def _publish(publish: Publish | None, tenant: str, payload: ControlPayload, actor: str,
             reason: str | None) -> ControlEvent:
    """Record the change as a control event (fail-closed), or 503 on a server that records none."""
    if publish is None:
        raise HTTPException(status_code=503, detail="This server records no control events.")
    return publish(tenant, payload, actor, reason)


def _flag_tenant(cursor_factory: CursorFactory, flag_id: str) -> str:
    with cursor_factory() as cursor:
        found = run_query(cursor, "anomalies", {"flag_id": flag_id, "limit": "1"})
    if not found.num_rows:
        raise HTTPException(status_code=404, detail="There is no such anomaly flag.")
    return str(found["tenant"][0].as_py())


def _failure(request: Request, visitor: Visitor | None, fmt: str, status: int, detail: str) -> Response:
    if fmt == "html":
        return message(request, visitor, "Cannot show this page", detail, status=status)
    return JSONResponse({"error": status, "detail": detail}, status_code=status)
