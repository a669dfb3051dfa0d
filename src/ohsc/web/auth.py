"""Authentication and authorisation dependencies, for this app and for routers other packages add.

* :func:`require_api_key` ``(*scopes)``: a machine client with an API key (``Authorization:
  Bearer ohsc_...`` or ``X-API-Key``) holding every named scope.
* :func:`require_user` ``(*roles)``: a person logged in to the UI (session cookie) with one of
  the roles (admins pass every role check). On unsafe methods it also checks the CSRF token
  (form field ``csrf_token`` or header ``X-CSRF-Token``), so no form can forget it.
* :func:`allow_anonymous`: the explicit marker for a deliberately public route; the test that
  walks every route of the app fails on any route without authentication and without it.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import ApiClient, User, WebSession
from ohsc.accounts.roles import Role, Scope
from ohsc.errors import AuthenticationError, CsrfError, PermissionDeniedError
from ohsc.web.services import Services

SESSION_COOKIE = "ohsc_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the most files and fields a UI form may carry (the first parse of a form is the one kept)
FORM_MAX_FILES = 1
FORM_MAX_FIELDS = 1000


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def allow_anonymous() -> None:
    """Marks a route as public on purpose (health checks, the login page, public pages)."""


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.headers.get("x-api-key")


async def authenticate_client(request: Request) -> ApiClient:
    cached = getattr(request.state, "api_client", None)
    if isinstance(cached, ApiClient):
        return cached
    secret = _presented_key(request)
    if not secret:
        raise AuthenticationError("an API key is required (Authorization: Bearer ohsc_...)")
    services = get_services(request)
    client = services.accounts.cached_client(secret)  # the hot path: no thread hop, no query
    if client is None:
        client = await run_in_threadpool(services.accounts.check_api_key, secret)
    request.state.api_client = client
    return client


def require_api_key(*scopes: Scope) -> Callable[[Request], Awaitable[ApiClient]]:
    """Dependency: the calling API client, which must hold every scope in ``scopes``."""
    needed = frozenset(scopes)

    async def dependency(request: Request) -> ApiClient:
        client = await authenticate_client(request)
        missing = needed - client.scopes
        if missing:
            names = ", ".join(sorted(s.value for s in missing))
            raise PermissionDeniedError(f"this API key lacks the scope(s): {names}")
        return client

    dependency.__name__ = f"require_api_key_{'_'.join(sorted(s.value for s in needed)) or 'any'}"
    return dependency


def require_any_api_key_scope(*scopes: Scope) -> Callable[[Request], Awaitable[ApiClient]]:
    """Dependency: an API client holding at least one of ``scopes``."""
    wanted = frozenset(scopes)

    async def dependency(request: Request) -> ApiClient:
        client = await authenticate_client(request)
        if not client.scopes & wanted:
            names = " or ".join(sorted(s.value for s in wanted))
            raise PermissionDeniedError(f"this API key needs the scope {names}")
        return client

    return dependency


async def current_session(request: Request) -> WebSession:
    cached = getattr(request.state, "web_session", None)
    if isinstance(cached, WebSession):
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise AuthenticationError("please log in")
    services = get_services(request)
    session = await run_in_threadpool(services.sessions.load, token)
    request.state.web_session = session
    return session


async def authenticate_any(request: Request) -> None:
    """Check the API key, else the session cookie, that the request presents (the route's own
    dependency then reuses the result); :class:`AuthenticationError` when it presents neither.

    :class:`ohsc.web.bodies.BodyGuard` calls this before a byte of a body is read."""
    if _presented_key(request):
        await authenticate_client(request)
    elif request.cookies.get(SESSION_COOKIE):
        await current_session(request)
    elif request.url.path.startswith("/v1/"):
        raise AuthenticationError("an API key is required (Authorization: Bearer ohsc_...)")
    else:
        raise AuthenticationError("please log in")


async def check_csrf(request: Request, session: WebSession) -> None:
    if request.method in SAFE_METHODS:
        return
    presented = request.headers.get(CSRF_HEADER)
    if not presented:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form(max_files=FORM_MAX_FILES, max_fields=FORM_MAX_FIELDS)
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
    if not presented or not hmac.compare_digest(presented, session.csrf_token):
        raise CsrfError("the form's security token is missing or stale; reload the page and try again")


def require_user(*roles: Role) -> Callable[[Request], Awaitable[User]]:
    """Dependency: the logged-in user, with one of ``roles`` (admins always pass); CSRF checked."""
    allowed = frozenset(roles) | {Role.ADMIN} if roles else frozenset(Role)

    async def dependency(request: Request) -> User:
        session = await current_session(request)
        await check_csrf(request, session)
        if session.user.role not in allowed:
            raise PermissionDeniedError("your role does not allow this")
        return session.user

    dependency.__name__ = f"require_user_{'_'.join(sorted(r.value for r in allowed))}"
    return dependency


async def user_or_client(request: Request) -> str:
    """Dependency for read-only documents (``/openapi.json``): a logged-in user or any API key."""
    if request.cookies.get(SESSION_COOKIE):
        session = await current_session(request)
        return session.user.actor
    client = await authenticate_client(request)
    return client.actor


# Annotated shorthands for route signatures (``client: BankAdminClient``).
MatchClient = Annotated[ApiClient, Depends(require_api_key(Scope.MATCH))]
BankAdminClient = Annotated[ApiClient, Depends(require_api_key(Scope.BANK_ADMIN))]
ReviewClient = Annotated[ApiClient, Depends(require_api_key(Scope.REVIEW))]
MatchOrReviewClient = Annotated[ApiClient, Depends(require_any_api_key_scope(Scope.MATCH, Scope.REVIEW))]
AnyUser = Annotated[User, Depends(require_user())]
ReviewerUser = Annotated[User, Depends(require_user(Role.REVIEWER, Role.REPORTER))]
AuditorUser = Annotated[User, Depends(require_user(Role.AUDITOR))]
ReportReaderUser = Annotated[
    User, Depends(require_user(Role.REVIEWER, Role.REPORTER, Role.EVIDENCE_CUSTODIAN))
]
ReporterUser = Annotated[User, Depends(require_user(Role.REPORTER))]
CustodianUser = Annotated[User, Depends(require_user(Role.EVIDENCE_CUSTODIAN))]
ReportClient = Annotated[ApiClient, Depends(require_api_key(Scope.REPORT))]
AdminUser = Annotated[User, Depends(require_user(Role.ADMIN))]
UserOrClient = Annotated[str, Depends(user_or_client)]
