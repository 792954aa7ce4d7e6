"""Who is asking the server, and what they may see: the admin token and tenant-scoped reader tokens.

The admin token (``AGENTTRAIL_API_TOKEN`` or its ``_SHA256``) reads every
tenant and is the only one that changes state. Reader tokens
(``AGENTTRAIL_API_TOKENS``, a JSON list of ``{name, sha256, tenant}``) only
read; one with a tenant sees that tenant alone, on every read path: a named
query runs with its ``tenant`` parameter set to it (a query without one is
refused, and so is asking for another tenant), ad-hoc SQL and the operators'
endpoints (stats, status, metrics) are refused, a backtest judges only its
events, and a token's or agent's status is answered only for its own. The
server holds only SHA-256 hashes of tokens and compares them in constant time.
Without ``--auth`` a request with no token reads as ``anonymous``, every tenant;
a presented token is always checked, so a tenant token is scoped either way.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from fastapi import HTTPException

from agenttrail.config import IngestToken, ReaderToken

T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    name: str  # "admin", a reader token's name, or "anonymous"
    tenant: str | None  # None: every tenant
    admin: bool = False

    @property
    def actor(self) -> str:
        """How the trail of the trail names this caller."""
        return f"service:{self.name}" if self.name == "anonymous" else f"service:token-{self.name}"

    def sees(self, tenant: str | None) -> bool:
        return self.tenant is None or tenant == self.tenant

    def require_all_tenants(self, what: str) -> None:
        """403 for a tenant-scoped caller: ``what`` spans every tenant."""
        if self.tenant is not None:
            raise HTTPException(status_code=403, detail=f"{what} spans every tenant, and this token sees only "
                                                        f"{self.tenant}; ask with an all-tenants token.")

    def scope_params(self, query: str, declared: set[str], params: Mapping[str, str]) -> dict[str, str]:
        """``params`` for a named query, its tenant pinned to this caller's (403 when that cannot be done)."""
        if self.tenant is None:
            return dict(params)
        if "tenant" not in declared:
            self.require_all_tenants(f"Query {query}")
        if params.get("tenant", self.tenant) != self.tenant:
            raise HTTPException(status_code=403, detail=f"This token sees only tenant {self.tenant}.")
        return {**params, "tenant": self.tenant}


ANONYMOUS = Caller("anonymous", None)


class Callers:
    """Presented bearer tokens to callers; None for a token that matches none (the caller answers 401)."""

    def __init__(self, admin_sha256: str | None, readers: list[ReaderToken]) -> None:
        self._known = [(bytes.fromhex(r.sha256), Caller(r.name, r.tenant)) for r in readers]
        if admin_sha256:
            self._known.append((bytes.fromhex(admin_sha256), Caller("admin", None, admin=True)))

    def identify(self, authorization: str | None) -> Caller | None:
        token = _bearer(authorization)
        return ANONYMOUS if not token else _match(token, self._known)


class IngestTokens:
    """Presented bearer tokens to the one tenant whose telemetry they may write (``POST /v1/traces``).

    Kept apart from ``Callers``: an ingest token reads nothing, and no reader or admin token
    ingests, since neither names the single tenant every span it sends must belong to.
    """

    def __init__(self, tokens: list[IngestToken]) -> None:
        self._known = [(bytes.fromhex(t.sha256), t) for t in tokens]

    def identify(self, authorization: str | None) -> IngestToken | None:
        token = _bearer(authorization)
        return _match(token, self._known) if token else None


def _bearer(authorization: str | None) -> str:
    return (authorization or "").removeprefix("Bearer ").strip()


def _match(token: str, known: list[tuple[bytes, T]]) -> T | None:
    """Whose SHA-256 ``token`` has, comparing against every digest in constant time, whichever matches."""
    given = hashlib.sha256(token.encode()).digest()
    found = None
    for expected, holder in known:
        if hmac.compare_digest(given, expected):
            found = holder
    return found
