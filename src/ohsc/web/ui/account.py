"""A person's own account: change the password (the policy's message is shown on the form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.errors import AuthenticationError, InvalidInputError, RateLimitedError
from ohsc.web.auth import AnyUser, get_services
from ohsc.web.templating import render

router = APIRouter(prefix="/account", include_in_schema=False)


def _form(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    settings = get_services(request).settings
    return render(
        request,
        "account_password.html",
        {"error": error, "min_length": settings.password_min_length},
        status_code=status,
    )


@router.get("/password")
async def password_form(request: Request, _user: AnyUser) -> Response:
    return _form(request)


@router.post("/password")
async def change_password(
    request: Request,
    user: AnyUser,
    current: Annotated[str, Form(max_length=1024)],
    new: Annotated[str, Form(max_length=1024)],
    confirm: Annotated[str, Form(max_length=1024)],
) -> Response:
    if new != confirm:
        return _form(request, error="The new password and its confirmation differ.", status=422)
    accounts = get_services(request).accounts
    address = request.client.host if request.client else "unknown"
    try:
        await run_in_threadpool(lambda: accounts.change_password(user.name, current, new, address=address))
    except (AuthenticationError, RateLimitedError) as exc:
        return _form(request, error=exc.message[:1].upper() + exc.message[1:] + ".", status=exc.http_status)
    except InvalidInputError as exc:
        return _form(request, error=exc.message[:1].upper() + exc.message[1:] + ".", status=422)
    return RedirectResponse("/login?changed=1", status_code=303)
