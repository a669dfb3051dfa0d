"""Security headers on every response (a pure ASGI middleware: cheap on the hot path)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the UI loads nothing from elsewhere; media come as same-origin URLs or blob: URLs
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; script-src 'self'; "
    "style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
#: Swagger UI needs one inline script to start
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; object-src 'none'; frame-ancestors 'none'"
)

#: pages other sites may frame (they set their own CSP with the allowed frame-ancestors)
FRAMEABLE_PATHS = frozenset({"/help/widget"})

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def add_security_headers(headers: list[tuple[bytes, bytes]], path: str) -> list[tuple[bytes, bytes]]:
    """``headers`` (raw ASGI pairs) with every security header the response does not set itself."""
    present = {k.lower() for k, _ in headers}
    out = list(headers)
    for key, value in _COMMON:
        if key == b"x-frame-options" and path in FRAMEABLE_PATHS:
            continue
        if key not in present:
            out.append((key, value))
    if b"content-security-policy" not in present:
        out.append((b"content-security-policy", (DOCS_CSP if path == "/docs" else CSP).encode()))
    if b"cache-control" not in present:
        static = path.startswith("/static/")
        out.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
    return out


def secure(response: Response, path: str) -> Response:
    """The same headers on a response made outside this middleware (Starlette answers unhandled
    exceptions in its outermost layer, around every middleware of the app)."""
    response.raw_headers[:] = add_security_headers(response.raw_headers, path)
    return response


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = add_security_headers(list(message.get("headers", [])), path)
            await send(message)

        await self.app(scope, receive, wrapped)
