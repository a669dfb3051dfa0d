"""Errors as RFC 9457 problem documents (``application/problem+json``), translated once, here.

Every :class:`~ohsc.errors.OhscError` becomes ``{"type", "title", "status", "detail", "instance",
"code"}`` (+ ``errors`` for invalid requests). The ``type`` is ``urn:ohsc:problem:<code>``; codes
are listed in docs/api.md. For the review UI, a missing or expired session becomes a redirect to
the login page and other errors a plain HTML page.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from ohsc.errors import AuthenticationError, DecodeBusyError, OhscError, RateLimitedError
from ohsc.web.security import secure

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    502: "Upstream failure",
    503: "Service unavailable",
}


class BodyTooLargeError(StarletteHTTPException):
    """A request body above its route's cap (:mod:`ohsc.web.bodies`). An ``HTTPException``, so
    that FastAPI's own form parsing passes it on instead of answering 400."""

    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes ({setting})")
        self.limit = limit
        self.setting = setting


#: path prefixes of machine routes (problem documents, never the login page); extensions add theirs
MACHINE_PREFIXES: list[str] = ["/v1/", "/health/"]


def is_ui_request(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith(tuple(MACHINE_PREFIXES)) or path == "/openapi.json")


def problem(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:ohsc:problem:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
    }
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _ui_response(request: Request, status: int, code: str, detail: str, headers: dict[str, str]) -> Response:
    if status == 401:
        target = "/login?next=" + quote(request.url.path, safe="/")
        if code == "session_expired":
            target += "&expired=1"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    from ohsc.web.templating import render_error

    return render_error(request, status, code, detail, headers)


def _wants_ui(request: Request) -> bool:
    return is_ui_request(request) and "application/json" not in request.headers.get("accept", "")


def _ohsc_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OhscError)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimitedError | DecodeBusyError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if isinstance(exc, AuthenticationError) and not is_ui_request(request):
        headers["WWW-Authenticate"] = 'Bearer realm="ohsc"'
    if exc.http_status >= 500:
        log.warning("%s %s: %s (%s)", request.method, request.url.path, exc.code, exc.message)
    if _wants_ui(request):
        return _ui_response(request, exc.http_status, exc.code, exc.message, headers)
    extra = {"detail_data": exc.detail} if exc.detail else None
    return problem(request, exc.http_status, exc.code, exc.message, extra=extra, headers=headers)


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"location": [str(p) for p in err.get("loc", ())], "message": str(err.get("msg", ""))}
        for err in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(e['location'])}: {e['message']}" for e in errors[:5])
    if _wants_ui(request):
        return _ui_response(request, 422, "invalid_input", summary, {})
    return problem(request, 422, "invalid_input", summary or "invalid request", extra={"errors": errors})


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "error")
    headers = dict(exc.headers or {})
    if _wants_ui(request):
        return _ui_response(request, exc.status_code, code, detail, headers)
    return problem(request, exc.status_code, code, detail, headers=headers)


def _body_too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLargeError)
    headers = {"Connection": "close"}  # the rest of the body is never read
    if _wants_ui(request):
        return _ui_response(request, 413, "body_too_large", str(exc.detail), headers)
    data = {"limit": exc.limit, "setting": exc.setting}
    return problem(
        request, 413, "body_too_large", str(exc.detail), extra={"detail_data": data}, headers=headers
    )


def error_response(request: Request, exc: OhscError | BodyTooLargeError) -> Response:
    """What the app answers for ``exc``, for middleware that refuses a request before routing."""
    if isinstance(exc, BodyTooLargeError):
        return _body_too_large(request, exc)
    return _ohsc_error(request, exc)


def _unexpected(request: Request, exc: Exception) -> Response:
    """500, from Starlette's outermost layer (outside every middleware: the headers are added here)."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response: Response
    if _wants_ui(request):
        try:
            response = _ui_response(request, 500, "internal", "something went wrong; the log has details", {})
        except Exception:  # the error page itself failed: answer plainly, still with the headers
            log.exception("the error page could not be rendered")
            response = PlainTextResponse("Internal error; the server log has details.", status_code=500)
    else:
        response = problem(request, 500, "internal", "something went wrong; the server log has details")
    return secure(response, request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(OhscError, _ohsc_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(BodyTooLargeError, _body_too_large)
    app.add_exception_handler(Exception, _unexpected)
