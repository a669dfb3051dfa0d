"""``/admin/keys``: API keys of machine clients: list, create (the key is shown on the answer to
the create form and never again: only its hash is kept), revoke. One
:class:`~ohsc.accounts.service.AccountService` call each (as ``ohsc apikey ...``), audited."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import NewApiKey
from ohsc.accounts.roles import Scope
from ohsc.errors import OhscError
from ohsc.web.auth import get_services
from ohsc.web.ui.admin_common import AdminOnly, admin_page, back, form_fields, form_lists

router = APIRouter(prefix="/admin/keys", include_in_schema=False)
HERE = "/admin/keys"


async def _page(request: Request, *, created: NewApiKey | None = None, error: str = "") -> Response:
    keys = await run_in_threadpool(get_services(request).accounts.list_api_keys)
    ctx = {"keys": keys, "scopes": [s.value for s in Scope], "created": created, "error": error}
    return admin_page(request, "admin/keys.html", HERE, ctx, status_code=400 if error else 200)


@router.get("")
async def keys_page(request: Request, _user: AdminOnly) -> Response:
    return await _page(request)


@router.post("")
async def create_key(request: Request, user: AdminOnly) -> Response:
    f = await form_fields(request)
    scopes = await form_lists(request, "scopes")
    svc = get_services(request).accounts.for_actor(user.actor)
    try:
        created = await run_in_threadpool(lambda: svc.create_api_key(f.get("name", ""), scopes))
    except OhscError as exc:
        return await _page(request, error=exc.message)
    # answered directly (not redirected): the secret is in this one response (no-store) only
    return await _page(request, created=created)


@router.post("/{key_id}/revoke")
async def revoke_key(key_id: int, request: Request, user: AdminOnly) -> Response:
    svc = get_services(request).accounts.for_actor(user.actor)
    key = await run_in_threadpool(svc.revoke_api_key, key_id)
    return back(HERE, f"Revoked API key {key.name} ({key.prefix}…).")
