"""Evidence pages (evidence custodians and admins): items per report, legal holds, audited downloads.

Every refused request is audited with the actor and the ids: by the dependency of each route
when the role or the CSRF token is wrong (``<action>.denied``), by the evidence service when the
item or hold does not exist, was purged, or the input is refused (``<action>.refused``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import User
from ohsc.accounts.roles import Role
from ohsc.errors import OhscError, PermissionDeniedError
from ohsc.evidence.service import EvidenceService
from ohsc.store.types import parse_when
from ohsc.web.actors import user_actor
from ohsc.web.auth import get_services, require_user
from ohsc.web.reporting import evidence_service
from ohsc.web.templating import render

router = APIRouter(prefix="/evidence", include_in_schema=False)

_custodian = require_user(Role.EVIDENCE_CUSTODIAN)


def audited(action: str, id_param: str | None = None) -> Callable[[Request], Awaitable[User]]:
    """Dependency: a custodian (or admin); a logged-in user refused here is audited first."""

    async def dependency(request: Request) -> User:
        try:
            return await _custodian(request)
        except PermissionDeniedError as exc:
            session = getattr(request.state, "web_session", None)
            if session is not None:
                object_id = request.path_params.get(id_param) if id_param else None
                svc = evidence_service(get_services(request), user_actor(session.user))
                reason = exc.code
                await run_in_threadpool(lambda: svc.refuse(action, object_id, reason=reason))
            raise

    dependency.__name__ = f"evidence_{action.replace('.', '_')}"
    return dependency


def _svc(request: Request, user: User) -> EvidenceService:
    return evidence_service(get_services(request), user_actor(user))


def _back(report: str, message: str) -> RedirectResponse:
    query = {"msg": message, **({"report": report} if report else {})}
    return RedirectResponse("/evidence?" + urlencode(query), status_code=303)


@router.get("")
async def evidence_list(
    request: Request, user: Annotated[User, Depends(audited("evidence.list"))], report: str = ""
) -> Response:
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
    user: Annotated[User, Depends(audited("evidence.hold", "item_id"))],
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
    user: Annotated[User, Depends(audited("evidence.release", "hold_id"))],
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
async def content(
    item_id: int, request: Request, user: Annotated[User, Depends(audited("evidence.read", "item_id"))]
) -> Response:
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
