"""Security headers on every console answer (pages, exports, static files), as a plain ASGI middleware.

Only the console's paths (``/`` and ``/ui/...``) get them: ``/docs`` loads its
assets from a CDN, and the API's JSON needs none of a page's protections.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agenttrail.console.render import HEADERS

_ENCODED = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in HEADERS.items()]
_STATIC = b"/ui/static/"


class SecureConsole:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != "/" and not path.startswith("/ui/") and path != "/ui":
            await self.app(scope, receive, send)
            return
        static = path.encode("latin-1", "replace").startswith(_STATIC)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A page that sets one of these itself (the blast radius report, which needs its inline style)
                # keeps its own.
                own = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _ENCODED if k not in own and not (static and k == b"cache-control")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
