"""Request bodies: a cap per route class, enforced before the body is read, and authentication
before a byte of it is read.

FastAPI parses a route's form or JSON body before its dependencies run, so without this an
anonymous request could make the server parse (and Starlette spool to disk) any amount of data
before being told to log in. :class:`BodyGuard` sits in front of the app and, for every request
that has a body:

1. picks the cap of the route's class (first match wins):

   * **uploads**: the routes in :data:`UPLOAD_ROUTES` (unless they are sent JSON): the route's
     own file limit plus :data:`UPLOAD_SLACK` for the multipart framing and small fields;
   * **public**: routes marked :func:`~ohsc.web.auth.allow_anonymous` (the login form, anonymous
     tips): ``OHSC_PUBLIC_FORM_MAX_BYTES``;
   * **API**: the rest of ``/v1/``: ``OHSC_JSON_MAX_BYTES``;
   * **forms**: everything else (the UI): ``OHSC_FORM_MAX_BYTES``;

2. refuses a declared ``Content-Length`` above the cap at once (413, ``body_too_large``: a
   problem document for the API, a page for the UI; ``Connection: close``, so the body is never
   read);
3. outside public routes, checks the API key or session the request presents (401 or the login
   redirect without either); the route's dependency reuses the result, so nothing is checked
   twice;
4. for a chunked body (no declared length) counts the bytes as they arrive and stops the request
   with the same 413 as soon as the cap is passed. (With a declared length the server itself
   never delivers more than was declared.)

A request without a body costs one pass over its headers; the hot path (a hash-only
``/v1/match``) adds a cached key check, a few microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.requests import Request
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ohsc.errors import OhscError
from ohsc.settings import Settings
from ohsc.web import problems
from ohsc.web.auth import authenticate_any
from ohsc.web.routes import walk_routes

#: what a multipart upload carries besides its file: boundaries, part headers, small fields
UPLOAD_SLACK = 64 * 1024


@dataclass(frozen=True, slots=True)
class UploadRoute:
    """A route whose body is a file, with that file's limit."""

    path: str  # as declared, with {parameters}
    limit: Callable[[Settings], int]
    setting: str  # the OHSC_* setting named in the refusal
    json_too: bool = False  # a JSON body is a file too (hash lists), not an API request


def _upload_limit(settings: Settings) -> int:
    return settings.upload_read_limit()


_UPLOAD = "OHSC_UPLOAD_MAX_BYTES, OHSC_VIDEO_UPLOAD_MAX_BYTES"

#: routes whose body is a file; extensions append theirs before the app serves its first request
UPLOAD_ROUTES: list[UploadRoute] = [
    UploadRoute("/v1/match", _upload_limit, _UPLOAD),
    UploadRoute("/v1/hash", _upload_limit, _UPLOAD),
    UploadRoute("/v1/banks/{bank}/entries", _upload_limit, _UPLOAD),
    UploadRoute("/v1/banks/{bank}/import", lambda s: s.max_file_bytes, "OHSC_MAX_FILE_BYTES", True),
    UploadRoute("/admin/banks/{bank_id}/import", lambda s: s.max_file_bytes, "OHSC_MAX_FILE_BYTES"),
    UploadRoute("/investigate/new", lambda s: s.trace_max_upload_bytes, "OHSC_TRACE_MAX_UPLOAD_BYTES"),
]


@dataclass(frozen=True, slots=True)
class Cap:
    limit: int
    setting: str
    public: bool


class _Paths:
    """Path templates compiled once: exact paths in a set, the others as (literal prefix, regex)."""

    def __init__(self, paths: list[str]) -> None:
        self.exact: set[str] = set()
        self.patterns: list[tuple[str, re.Pattern[str], str]] = []
        for path in paths:
            if "{" in path:
                self.patterns.append((path.split("{", 1)[0], compile_path(path)[0], path))
            else:
                self.exact.add(path)

    def find(self, path: str) -> str | None:
        if path in self.exact:
            return path
        for prefix, regex, template in self.patterns:
            if path.startswith(prefix) and regex.match(path):
                return template
        return None


class _Table:
    """What the guard knows of one app: its public routes and its upload routes."""

    def __init__(self, app: FastAPI) -> None:
        self.size = len(app.router.routes)
        self.public = _Paths(sorted({r.path for r in walk_routes(app) if r.public}))
        self.upload_routes = {u.path: u for u in UPLOAD_ROUTES}
        self.uploads = _Paths(list(self.upload_routes))

    def cap(self, path: str, content_type: bytes, settings: Settings) -> Cap:
        public = self.public.find(path) is not None
        template = self.uploads.find(path)
        if template is not None:
            upload = self.upload_routes[template]
            if upload.json_too or not _is_json(content_type):
                return Cap(upload.limit(settings) + UPLOAD_SLACK, upload.setting, public)
        if public:
            return Cap(settings.public_form_max_bytes, "OHSC_PUBLIC_FORM_MAX_BYTES", True)
        if path.startswith("/v1/"):
            return Cap(settings.json_max_bytes, "OHSC_JSON_MAX_BYTES", False)
        return Cap(settings.form_max_bytes, "OHSC_FORM_MAX_BYTES", False)


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


class BodyGuard:
    """ASGI middleware: caps and authenticates request bodies before they are read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._known: _Table | None = None

    def _table(self, app: FastAPI) -> _Table:
        table = self._known
        if table is None or table.size != len(app.router.routes):  # routes were added since
            table = self._known = _Table(app)
        return table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        content_type = authorization = b""
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value
            elif key == b"transfer-encoding":
                chunked = True
            elif key == b"content-type":
                content_type = value
            elif key == b"authorization":
                authorization = value
        if not chunked and (length is None or length == b"0"):
            await self.app(scope, receive, send)  # no body
            return
        app: FastAPI = scope["app"]
        cap = self._table(app).cap(scope["path"], content_type, app.state.services.settings)
        declared = int(length) if length is not None and length.isdigit() else None
        if declared is not None and declared > cap.limit:
            await _refuse(scope, receive, send, problems.BodyTooLargeError(cap.limit, cap.setting))
            return
        if not cap.public and not _known_key(app, scope, authorization):
            try:
                await authenticate_any(Request(scope))
            except OhscError as exc:
                await _refuse(scope, receive, send, exc)
                return
        if declared is not None and not chunked:
            await self.app(scope, receive, send)  # the server delivers no more than declared
            return
        await _counted(self.app, scope, receive, send, cap)


def _known_key(app: FastAPI, scope: Scope, authorization: bytes) -> bool:
    """The hot path: a bearer key this process checked lately (no thread hop, no query); the
    route's dependency finds the client where :func:`~ohsc.web.auth.authenticate_client` keeps it."""
    scheme, _, secret = authorization.partition(b" ")
    if scheme.lower() != b"bearer":
        return False
    client = app.state.services.accounts.cached_client(secret.decode("latin-1").strip())
    if client is None:
        return False
    scope.setdefault("state", {})["api_client"] = client
    return True


async def _counted(app: ASGIApp, scope: Scope, receive: Receive, send: Send, cap: Cap) -> None:
    """Run ``app`` on a receive that stops the request once the body passes the cap."""
    total = 0
    passed = False
    started = False

    async def counting() -> Message:
        nonlocal total, passed
        if passed:  # the app read on after the refusal: the body is over for it
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > cap.limit:
                passed = True
                raise problems.BodyTooLargeError(cap.limit, cap.setting)
        return message

    async def tracking(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, counting, tracking)
    except problems.BodyTooLargeError as exc:
        if started:
            raise
        await _refuse(scope, receive, send, exc)  # raised where no exception handler runs


async def _refuse(
    scope: Scope, receive: Receive, send: Send, exc: OhscError | problems.BodyTooLargeError
) -> None:
    response = problems.error_response(Request(scope, receive), exc)
    response.headers["Connection"] = "close"  # the body stays unread: no keep-alive after it
    await response(scope, receive, send)
