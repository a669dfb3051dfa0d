"""The audit log for auditors and admins: recent events and a chain check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ohsc import audit as audit_log
from ohsc.store.models import AuditEvent
from ohsc.web.auth import AuditorUser, get_services
from ohsc.web.paging import decode_cursor, encode_cursor
from ohsc.web.templating import render

router = APIRouter(prefix="/audit", include_in_schema=False)
PAGE = 100


@router.get("")
async def audit_page(request: Request, _user: AuditorUser) -> Response:
    services = get_services(request)
    before = decode_cursor(request.query_params.get("cursor"))

    def fetch() -> dict[str, Any]:
        with services.store.session() as s:
            q = select(AuditEvent)
            if before is not None:
                q = q.where(AuditEvent.seq < before)
            events = list(s.scalars(q.order_by(AuditEvent.seq.desc()).limit(PAGE + 1)))
        return {
            "events": events[:PAGE],
            "next_cursor": encode_cursor(events[PAGE - 1].seq) if len(events) > PAGE else None,
        }

    return render(request, "audit.html", await run_in_threadpool(fetch))


@router.post("/verify")
async def verify(request: Request, user: AuditorUser) -> Response:
    services = get_services(request)

    def run() -> audit_log.VerifyResult:
        return audit_log.verify_log(services.store, user.actor)

    result = await run_in_threadpool(run)
    template = "_verify.html" if request.headers.get("hx-request") else "audit.html"
    ctx: dict[str, Any] = {"verify": result}
    if template == "audit.html":
        ctx.update({"events": [], "next_cursor": None})
    return render(request, template, ctx)
