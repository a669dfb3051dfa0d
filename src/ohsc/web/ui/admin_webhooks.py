"""``/admin/webhooks``: webhooks (list, create with the signing secret shown once, enable,
disable, delete), a test event, and each webhook's delivery log from the durable outbox. One
:class:`~ohsc.actions.webhooks.WebhookService` call each (as ``ohsc webhook ...``), audited."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ohsc.actions import events
from ohsc.actions.webhooks import Webhook
from ohsc.errors import OhscError
from ohsc.store.types import ascii_int
from ohsc.web.auth import get_services
from ohsc.web.ui.admin_common import AdminOnly, admin_page, back, form_fields, form_lists

router = APIRouter(prefix="/admin/webhooks", include_in_schema=False)
HERE = "/admin/webhooks"
PAGE = 50


async def _page(
    request: Request,
    *,
    created: tuple[Webhook, str] | None = None,
    error: str = "",
    form: dict[str, str] | None = None,
) -> Response:
    hooks = await run_in_threadpool(get_services(request).webhooks("web").list_webhooks)
    ctx = {
        "hooks": hooks,
        "event_types": events.EVENT_TYPES,
        "created": created,
        "error": error,
        "form": form or {},
    }
    return admin_page(request, "admin/webhooks.html", HERE, ctx, status_code=400 if error else 200)


@router.get("")
async def webhooks_page(request: Request, _user: AdminOnly) -> Response:
    return await _page(request)


@router.post("")
async def create_webhook(request: Request, user: AdminOnly) -> Response:
    f = await form_fields(request)
    types = await form_lists(request, "events")
    svc = get_services(request).webhooks(user.actor)
    try:
        created = await run_in_threadpool(
            lambda: svc.create(f.get("name", ""), f.get("url", ""), types or ["*"])
        )
    except OhscError as exc:
        return await _page(request, error=exc.message, form=f)
    return await _page(request, created=created)  # the signing secret: this response only


@router.get("/{webhook_id}")
async def webhook_page(webhook_id: int, request: Request, _user: AdminOnly) -> Response:
    svc = get_services(request).webhooks("web")
    before = ascii_int(request.query_params.get("before", ""))

    def load() -> dict[str, object]:
        hook = svc.get(webhook_id)
        rows = svc.deliveries(webhook_id, before=before, limit=PAGE + 1)
        return {
            "hook": hook,
            "deliveries": rows[:PAGE],
            "more": rows[PAGE - 1].id if len(rows) > PAGE else None,
        }

    ctx = await run_in_threadpool(load)
    return admin_page(request, "admin/webhook.html", HERE, ctx)


@router.post("/{webhook_id}/test")
async def send_test(webhook_id: int, request: Request, user: AdminOnly) -> Response:
    svc = get_services(request).webhooks(user.actor)
    event_id = await run_in_threadpool(svc.send_test, webhook_id)
    return back(f"{HERE}/{webhook_id}", f"Queued test event {event_id}; it is sent within seconds.")


@router.post("/{webhook_id}/enabled")
async def set_enabled(webhook_id: int, request: Request, user: AdminOnly) -> Response:
    f = await form_fields(request)
    enabled = f.get("enabled") == "yes"
    svc = get_services(request).webhooks(user.actor)
    await run_in_threadpool(lambda: svc.update(webhook_id, enabled=enabled))
    return back(
        f"{HERE}/{webhook_id}", "Enabled." if enabled else "Disabled: new events are not queued for it."
    )


@router.post("/{webhook_id}/delete")
async def delete_webhook(webhook_id: int, request: Request, user: AdminOnly) -> Response:
    await run_in_threadpool(get_services(request).webhooks(user.actor).delete, webhook_id)
    return back(HERE, f"Deleted webhook {webhook_id}.")
