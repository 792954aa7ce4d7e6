"""Who is at the browser: console sign-in sessions on top of the server's callers (``agenttrail.callers``).

A page navigation cannot carry a bearer header, so the console signs a person in
once: they paste a token into the sign-in form, ``Callers.identify`` decides who
that token is (admin, a tenant's reader, or nobody), and the browser gets an
opaque session id in an ``HttpOnly; SameSite=Strict`` cookie. The token itself is
never stored, in the browser or here: the server keeps the SHA-256 of the session
id, the caller it stands for, a CSRF token and an expiry, in memory (a restart
signs everyone out). Script in the page cannot read the cookie, so an injected
script could not carry the session away; changes also need the CSRF token, which
a cross-site form cannot know, and SameSite=Strict keeps the cookie off
cross-site requests in the first place.

A request with an ``Authorization: Bearer`` header is that token's caller, as on
every API path (so ``curl`` can read a page's JSON export), and needs no CSRF
token: browsers never attach that header on their own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from fastapi import Request

from agenttrail.callers import ANONYMOUS, Caller, Callers

COOKIE = "agenttrail_session"
SESSION_SECONDS = 8 * 3600
_MAX_SESSIONS = 10_000  # a flood of sign-ins evicts the oldest rather than growing without bound


@dataclass(frozen=True)
class Session:
    caller: Caller
    actor: str  # who the trail names as making this session's changes
    csrf: str
    expires: float


@dataclass(frozen=True)
class Visitor:
    """A request's caller, and the session it came through (None: a bearer header, or nobody signed in)."""

    caller: Caller
    session: Session | None

    @property
    def actor(self) -> str:
        return self.session.actor if self.session is not None else self.caller.actor


class Sessions:
    """Signed-in browsers, by the SHA-256 of their session id."""

    def __init__(self, callers: Callers, *, seconds: float = SESSION_SECONDS) -> None:
        self.callers = callers
        self.seconds = seconds
        self._by_hash: dict[bytes, Session] = {}
        self._lock = threading.Lock()

    def sign_in(self, token: str, name: str | None) -> tuple[str, Session] | None:
        """A new session id and its session for ``token``; None when the token is nobody's.

        ``name`` (``alice``) makes the admin's changes recorded as ``human:alice``, as the API's
        ``actor`` field does; without it they are recorded as the token's own name.
        """
        caller = self.callers.identify(f"Bearer {token}") if token.strip() else None
        if caller is None:
            return None
        session_id = secrets.token_urlsafe(32)
        actor = f"human:{name.strip()}" if name and name.strip() else caller.actor
        session = Session(caller, actor, secrets.token_urlsafe(24), time.time() + self.seconds)
        with self._lock:
            if len(self._by_hash) >= _MAX_SESSIONS:
                oldest = min(self._by_hash, key=lambda key: self._by_hash[key].expires)
                del self._by_hash[oldest]
            self._by_hash[_digest(session_id)] = session
        return session_id, session

    def sign_out(self, session_id: str) -> None:
        with self._lock:
            self._by_hash.pop(_digest(session_id), None)

    def visitor(self, request: Request) -> Visitor | None:
        """Who asks: the bearer header's caller, else the session's, else anonymous; None for an unknown token."""
        header = request.headers.get("authorization")
        if header:
            caller = self.callers.identify(header)
            return None if caller is None else Visitor(caller, None)
        session = self._session(request.cookies.get(COOKIE, ""))
        return Visitor(session.caller, session) if session is not None else Visitor(ANONYMOUS, None)

    def _session(self, session_id: str) -> Session | None:
        if not session_id:
            return None
        key = _digest(session_id)
        with self._lock:
            session = self._by_hash.get(key)
            if session is not None and session.expires < time.time():
                del self._by_hash[key]
                session = None
        return session


def csrf_holds(visitor: Visitor, presented: str | None) -> bool:
    """Whether a change may go ahead: a bearer header needs no CSRF token; a session needs its own."""
    if visitor.session is None:
        return True
    return presented is not None and hmac.compare_digest(presented.encode(), visitor.session.csrf.encode())


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()
