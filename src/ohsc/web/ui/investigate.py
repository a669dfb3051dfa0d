"""Trace an Object for investigators: upload sanitised pictures, two-person approval, the tip
inbox (per object and overall), triage and CSV export."""

from __future__ import annotations

import io
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ohsc.accounts.model import User
from ohsc.accounts.roles import Role
from ohsc.errors import FileTooLargeError, InvalidInputError, OhscError
from ohsc.prevention.tips import TipStatus
from ohsc.prevention.trace import CATEGORIES, ObjectStatus
from ohsc.store.types import ascii_int
from ohsc.web.actors import user_actor
from ohsc.web.auth import get_services, require_user
from ohsc.web.prevention import Prevention, prevention
from ohsc.web.templating import render
from ohsc.web.ui.login import safe_next

router = APIRouter(prefix="/investigate", include_in_schema=False)
InvestigatorUser = Annotated[User, Depends(require_user(Role.INVESTIGATOR))]
ACTIONS = ("submit", "approve", "reject", "identify", "retire")


def _p(request: Request) -> Prevention:
    return prevention(get_services(request))


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=30)
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.get("")
async def objects(request: Request, user: InvestigatorUser) -> Response:
    p = _p(request)
    status = request.query_params.get("status") or None
    status = status if status in set(ObjectStatus) else None
    listed = await run_in_threadpool(lambda: p.objects.list_objects(user_actor(user), status=status))
    ctx = {
        "objects": listed,
        "status": status,
        "statuses": list(ObjectStatus),
        "message": request.query_params.get("msg"),
    }
    return render(request, "prevention/investigate_list.html", ctx)


def _new_page(request: Request, error: str = "", status: int = 200, **values: str) -> Response:
    ctx = {"categories": CATEGORIES, "error": error, "values": values}
    return render(request, "prevention/investigate_new.html", ctx, status_code=status)


@router.get("/new")
async def new_form(request: Request, _user: InvestigatorUser) -> Response:
    return _new_page(request)


@router.post("/new")
async def create(request: Request, user: InvestigatorUser) -> Response:
    p = _p(request)
    limit = p.objects.settings.trace_max_upload_bytes
    declared = ascii_int(request.headers.get("content-length"))
    if declared is not None and declared > limit + 64 * 1024:
        raise FileTooLargeError(f"the upload is larger than {limit} bytes (OHSC_TRACE_MAX_UPLOAD_BYTES)")
    async with request.form(max_files=1, max_fields=20) as form:
        upload = form.get("file")
        category = str(form.get("category") or "")
        question = str(form.get("question") or "")
        data = await upload.read(limit + 1) if isinstance(upload, UploadFile) else b""
    if not data:
        return _new_page(request, "Choose a picture.", 422, category=category, question=question)
    if len(data) > limit:
        return _new_page(request, "The picture is too large.", 413, category=category, question=question)
    try:
        obj = await run_in_threadpool(
            lambda: p.objects.create(user_actor(user), data, category=category, question=question)
        )
    except OhscError as exc:
        return _new_page(request, exc.message, exc.http_status, category=category, question=question)
    return RedirectResponse(f"/investigate/objects/{obj.id}", status_code=303)


def _refused(object_id: int, exc: OhscError) -> Response:
    """Post/redirect/get for a refusal too: the address is the object's page, which a reload shows
    again (not the POST-only action URL, which answered 405)."""
    query = urlencode({"error": exc.message})
    return RedirectResponse(f"/investigate/objects/{object_id}?{query}", status_code=303)


def _detail(request: Request, user: User, object_id: int, error: str = "", status: int = 200) -> Response:
    p = _p(request)
    error = error or (request.query_params.get("error") or "")[:500]
    actor = user_actor(user)
    ctx: dict[str, Any] = {
        "obj": p.objects.get(actor, object_id),
        "tips": p.tips.list_tips(actor, object_id=object_id, limit=500),
        "tip_statuses": list(TipStatus),
        "categories": CATEGORIES,
        "error": error,
        "message": request.query_params.get("msg"),
        "back": f"/investigate/objects/{object_id}",
    }
    return render(request, "prevention/investigate_object.html", ctx, status_code=status)


@router.get("/objects/{object_id}")
async def detail(object_id: int, request: Request, user: InvestigatorUser) -> Response:
    return await run_in_threadpool(_detail, request, user, object_id)


@router.get("/objects/{object_id}/img")
async def object_image(object_id: int, request: Request, user: InvestigatorUser) -> Response:
    p = _p(request)
    thumb = request.query_params.get("thumb") == "1"
    data, mime = await run_in_threadpool(lambda: p.objects.image(user_actor(user), object_id, thumb=thumb))
    return Response(data, media_type=mime, headers={"cache-control": "private, no-store"})


@router.post("/objects/{object_id}/edit")
async def edit(object_id: int, request: Request, user: InvestigatorUser) -> Response:
    """Change the category or question; a published object goes back to approval."""
    p = _p(request)
    fields = await _fields(request)
    category, question = fields.get("category", "").strip(), fields.get("question", "").strip()
    try:
        await run_in_threadpool(
            lambda: p.objects.update(
                user_actor(user), object_id, category=category or None, question=question or None
            )
        )
    except OhscError as exc:
        if exc.http_status == 404:
            raise
        return _refused(object_id, exc)
    return RedirectResponse(f"/investigate/objects/{object_id}?msg=Object+saved.", status_code=303)


@router.post("/objects/{object_id}/{action}")
async def act(object_id: int, action: str, request: Request, user: InvestigatorUser) -> Response:
    """submit, approve (a second person), reject (with a reason), identify, retire."""
    if action not in ACTIONS:
        raise InvalidInputError(f"action is one of {', '.join(ACTIONS)}")
    p = _p(request)
    actor = user_actor(user)
    note = (await _fields(request)).get("note", "")

    def run() -> None:
        if action == "submit":
            p.objects.submit(actor, object_id)
        elif action == "approve":
            p.objects.approve(actor, object_id)
        elif action == "reject":
            p.objects.reject(actor, object_id, note)
        elif action == "identify":
            p.objects.identify(actor, object_id, note)
        else:
            p.objects.retire(actor, object_id, note)

    try:
        await run_in_threadpool(run)
    except OhscError as exc:
        if exc.http_status == 404:
            raise
        return _refused(object_id, exc)
    done = {"submit": "submitted for approval", "approve": "approved and published", "reject": "rejected",
            "identify": "marked identified", "retire": "retired"}[action]  # fmt: skip
    return RedirectResponse(f"/investigate/objects/{object_id}?msg=Object+{done}.", status_code=303)


def _tip_filter(request: Request) -> dict[str, Any]:
    params = request.query_params
    status = params.get("status") or None
    obj = params.get("object") or ""
    return {
        "status": status if status in set(TipStatus) else None,
        "tag": (params.get("tag") or "").strip()[:40] or None,
        "object_id": ascii_int(obj),
    }


@router.get("/tips")
async def inbox(request: Request, user: InvestigatorUser) -> Response:
    p = _p(request)
    flt = _tip_filter(request)
    tips = await run_in_threadpool(lambda: p.tips.list_tips(user_actor(user), limit=500, **flt))
    query = urlencode({k: v for k, v in flt.items() if v is not None and k != "object_id"}
                      | ({"object": flt["object_id"]} if flt["object_id"] else {}))  # fmt: skip
    ctx = {
        "tips": tips,
        "flt": flt,
        "tip_statuses": list(TipStatus),
        "export_url": "/investigate/tips.csv" + (f"?{query}" if query else ""),
        "back": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        "message": request.query_params.get("msg"),
    }
    return render(request, "prevention/investigate_tips.html", ctx)


@router.post("/tips/{tip_id}")
async def triage(tip_id: int, request: Request, user: InvestigatorUser) -> Response:
    p = _p(request)
    f = await _fields(request)
    status = f.get("status") or None
    add = [t.strip() for t in f.get("add_tags", "").split(",") if t.strip()]
    remove = [t.strip() for t in f.get("remove_tags", "").split(",") if t.strip()]
    note = f.get("note")
    await run_in_threadpool(
        lambda: p.tips.triage(
            user_actor(user), tip_id, status=status, add_tags=add, remove_tags=remove, note=note
        )
    )
    back = safe_next(f.get("next")) or "/investigate/tips"
    return RedirectResponse(back, status_code=303)


@router.get("/tips.csv")
async def export(request: Request, user: InvestigatorUser) -> Response:
    p = _p(request)
    flt = _tip_filter(request)
    out = io.StringIO()
    await run_in_threadpool(
        lambda: p.tips.export_csv(user_actor(user), out, object_id=flt["object_id"], status=flt["status"])
    )
    return Response(
        out.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="tips.csv"'},
    )
