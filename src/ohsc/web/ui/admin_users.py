"""``/admin/users``: people who log in: list, create with a role, change role, disable, enable,
set a new password. Each action is one :class:`~ohsc.accounts.service.AccountService` call (the
same as ``ohsc user ...``), audited with the admin as actor."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.roles import Role
from ohsc.accounts.service import AccountService
from ohsc.errors import OhscError
from ohsc.web.auth import get_services
from ohsc.web.ui.admin_common import AdminOnly, admin_page, back, form_fields

router = APIRouter(prefix="/admin/users", include_in_schema=False)
HERE = "/admin/users"


def _accounts(request: Request, actor: str) -> AccountService:
    return get_services(request).accounts.for_actor(actor)


async def _page(request: Request, error: str = "", form: dict[str, str] | None = None) -> Response:
    users = await run_in_threadpool(get_services(request).accounts.list_users)
    ctx = {"users": users, "roles": [r.value for r in Role], "error": error, "form": form or {}}
    return admin_page(request, "admin/users.html", HERE, ctx, status_code=400 if error else 200)


@router.get("")
async def users_page(request: Request, _user: AdminOnly) -> Response:
    return await _page(request)


@router.post("")
async def create_user(request: Request, user: AdminOnly) -> Response:
    f = await form_fields(request)
    svc = _accounts(request, user.actor)
    try:
        created = await run_in_threadpool(
            lambda: svc.create_user(f.get("name", ""), f.get("role", ""), f.get("password", ""))
        )
    except OhscError as exc:
        return await _page(request, exc.message, {"name": f.get("name", ""), "role": f.get("role", "")})
    return back(HERE, f"Created {created.role.value} {created.name}.")


@router.post("/{name}")
async def update_user(name: str, request: Request, user: AdminOnly) -> Response:
    """One change per form: ``role``, ``enabled`` (``yes``/``no``) or ``password``."""
    f = await form_fields(request)
    svc = _accounts(request, user.actor)
    role = f.get("role") or None
    enabled = {"yes": True, "no": False}.get(f.get("enabled", ""))
    password = f.get("password") or None
    try:
        changed = await run_in_threadpool(
            lambda: svc.update_user(name, role=role, enabled=enabled, password=password)
        )
    except OhscError as exc:
        return await _page(request, f"{name}: {exc.message}")
    what = (
        f"role is now {changed.role.value}"
        if role
        else ("password changed" if password else ("enabled" if changed.enabled else "disabled"))
    )
    return back(HERE, f"{changed.name}: {what}.")
