"""Evidence pages (evidence custodians and admins): items per report, legal holds, audited downloads."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.errors import OhscError
from ohsc.evidence.service import EvidenceService
from ohsc.store.types import parse_when
from ohsc.web.actors import user_actor
from ohsc.web.auth import CustodianUser, get_services
from ohsc.web.reporting import evidence_service
from ohsc.web.templating import render

router = APIRouter(prefix="/evidence", include_in_schema=False)


def _svc(request: Request, user: CustodianUser) -> EvidenceService:
    return evidence_service(get_services(request), user_actor(user))


def _back(report: str, message: str) -> RedirectResponse:
    query = {"msg": message, **({"report": report} if report else {})}
    return RedirectResponse("/evidence?" + urlencode(query), status_code=303)


@router.get("")
async def evidence_list(request: Request, user: CustodianUser, report: str = "") -> Response:
    svc = _svc(request, user)
    subject = ("report", report.strip()) if report.strip() else None
    items = await run_in_threadpool(lambda: svc.items(subject=subject))
    return render(
        request,
        "evidence/list.html",
        {"items": items, "report": report.strip(), "message": request.query_params.get("msg")},
    )


@router.post("/items/{item_id}/hold")
async def hold(
    item_id: int,
    request: Request,
    user: CustodianUser,
    reason: Annotated[str, Form(max_length=2000)],
    until: Annotated[str, Form(max_length=40)] = "",
    reference: Annotated[str, Form(max_length=200)] = "",
    report: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    svc = _svc(request, user)
    try:
        end = parse_when(until, "until")
        await run_in_threadpool(
            lambda: svc.hold([item_id], reason=reason, until=end, reference=reference or None)
        )
    except OhscError as exc:
        return _back(report, exc.message)
    return _back(report, f"Legal hold placed on evidence item {item_id}.")


@router.post("/holds/{hold_id}/release")
async def release(
    hold_id: int,
    request: Request,
    user: CustodianUser,
    reason: Annotated[str, Form(max_length=2000)],
    report: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    svc = _svc(request, user)
    try:
        await run_in_threadpool(lambda: svc.release(hold_id, reason=reason))
    except OhscError as exc:
        return _back(report, exc.message)
    return _back(report, f"Legal hold {hold_id} released.")


@router.get("/items/{item_id}/content")
async def content(item_id: int, request: Request, user: CustodianUser) -> Response:
    """The preserved bytes, as a download (an audited read)."""
    svc = _svc(request, user)
    item = await run_in_threadpool(svc.get, item_id)
    data = await run_in_threadpool(lambda: svc.read(item_id, purpose="download from the web UI"))
    name = f"evidence-{item.id}-{item.sha256[:12]}"
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store, private",
        },
    )
