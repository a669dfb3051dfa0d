"""Webhooks over HTTP: register (URL + secret + event types), list, change, delete, delivery log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ohsc.actions.webhooks import Delivery, Webhook
from ohsc.web.api.common import PROBLEMS
from ohsc.web.api.schemas import Page, WebhookCreated, WebhookIn, WebhookPatch
from ohsc.web.auth import BankAdminClient, get_services
from ohsc.web.paging import clamp_limit, decode_cursor, page

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=PROBLEMS)


@router.get("", response_model=Page[Webhook], summary="List webhooks")
async def list_webhooks(
    request: Request, client: BankAdminClient, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    size = clamp_limit(limit)
    after = decode_cursor(cursor) or 0
    hooks = await run_in_threadpool(get_services(request).webhooks(client.actor).list_webhooks)
    shown = [h for h in hooks if h.id > after]
    return page(shown[: size + 1], size, lambda h: h.id, lambda h: h)


@router.post("", response_model=WebhookCreated, status_code=201, summary="Register a webhook")
async def create_webhook(body: WebhookIn, request: Request, client: BankAdminClient) -> WebhookCreated:
    """Events (``match.created``, ``review.created``, ``review.decided``, ``review.confirmed``, or
    ``*``) are POSTed as JSON, signed: ``OHSC-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
    "<t>.<body>")>``. The secret is generated when not given and shown only in this answer."""
    svc = get_services(request).webhooks(client.actor)
    hook, secret = await run_in_threadpool(
        lambda: svc.create(body.name, body.url, body.event_types, body.secret)
    )
    return WebhookCreated(**dict(hook), secret=secret)


@router.get("/{webhook_id}", response_model=Webhook, summary="A webhook")
async def get_webhook(webhook_id: int, request: Request, client: BankAdminClient) -> Webhook:
    return await run_in_threadpool(get_services(request).webhooks(client.actor).get, webhook_id)


@router.patch("/{webhook_id}", response_model=Webhook, summary="Change a webhook")
async def update_webhook(
    webhook_id: int, body: WebhookPatch, request: Request, client: BankAdminClient
) -> Webhook:
    svc = get_services(request).webhooks(client.actor)
    return await run_in_threadpool(
        lambda: svc.update(webhook_id, enabled=body.enabled, event_types=body.event_types)
    )


@router.delete("/{webhook_id}", status_code=204, summary="Delete a webhook")
async def delete_webhook(webhook_id: int, request: Request, client: BankAdminClient) -> Response:
    await run_in_threadpool(get_services(request).webhooks(client.actor).delete, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=Page[Delivery], summary="The delivery log")
async def deliveries(
    webhook_id: int,
    request: Request,
    client: BankAdminClient,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    size = clamp_limit(limit)
    svc = get_services(request).webhooks(client.actor)
    rows = await run_in_threadpool(
        lambda: svc.deliveries(webhook_id, before=decode_cursor(cursor), limit=size + 1)
    )
    return page(rows, size, lambda d: d.id, lambda d: d)
