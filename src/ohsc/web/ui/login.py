"""Log in and out. The login form carries its own CSRF token (double-submit cookie)."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.roles import Role
from ohsc.errors import AuthenticationError, OhscError, RateLimitedError
from ohsc.web.auth import SESSION_COOKIE, AnyUser, allow_anonymous, current_session, get_services
from ohsc.web.templating import render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "ohsc_login_csrf"


def safe_next(target: str | None) -> str | None:
    """Only same-site paths (``/x``, never ``//host`` or ``/\\host``) are followed after login."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > 500:
        return None
    return target


#: where each role lands after logging in: a page it may open (a test logs every role in)
HOMES: dict[Role, str] = {
    Role.ADMIN: "/review",
    Role.REVIEWER: "/review",
    Role.REPORTER: "/review",
    Role.AUDITOR: "/audit",
    Role.PREVENTION_ADMIN: "/prevention",
    Role.INVESTIGATOR: "/investigate",
    Role.EVIDENCE_CUSTODIAN: "/evidence",
}


def home_for(role: Role) -> str:
    return HOMES.get(role, "/review")


def _login_page(request: Request, *, error: str | None = None, status: int = 200, name: str = "") -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "next": safe_next(request.query_params.get("next")) or "",
            "expired": request.query_params.get("expired") == "1",
            "changed": request.query_params.get("changed") == "1",
            "error": error,
            "name": name,
        },
        status_code=status,
    )
    secure = get_services(request).settings.effective_cookie_secure()
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/login"
    )
    return response


@router.get("/login", dependencies=[Depends(allow_anonymous)])
async def login_form(request: Request) -> Response:
    if request.cookies.get(SESSION_COOKIE):
        try:
            session = await current_session(request)
        except OhscError:
            pass
        else:
            target = safe_next(request.query_params.get("next")) or home_for(session.user.role)
            return RedirectResponse(target, status_code=303)
    return _login_page(request)


@router.post("/login", dependencies=[Depends(allow_anonymous)])
async def login(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not csrf_token or not hmac.compare_digest(cookie, csrf_token):
        return _login_page(request, error="The form expired; please try again.", status=403, name=name)
    services = get_services(request)
    address = request.client.host if request.client else "unknown"
    try:
        user = await run_in_threadpool(services.accounts.authenticate, name, password, address=address)
    except RateLimitedError as exc:
        response = _login_page(request, error=exc.message, status=429, name=name)
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response
    except AuthenticationError as exc:
        return _login_page(request, error=exc.message, status=401, name=name)
    token = await run_in_threadpool(services.sessions.start, user)
    response = RedirectResponse(safe_next(next) or home_for(user.role), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=services.settings.effective_cookie_secure(),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, user: AnyUser) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(get_services(request).sessions.end, token, user)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
async def home(user: AnyUser) -> Response:
    return RedirectResponse(home_for(user.role), status_code=303)
