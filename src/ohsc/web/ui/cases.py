"""Triage cases in the browser: case list, dashboard (with sources, ingest under
``OHSC_CASE_INGEST_ROOT`` in the background, VICS export and report downloads), the analyst grid
(blurred greyscale previews and video keyframe strips, number keys, shift-click and stack-wide
selection, filters), item pages with recorded reveals, and the disagreements queue. Reveals count
against the review exposure budget."""

from __future__ import annotations

import io
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import User
from ohsc.cases.categories import scheme as get_scheme
from ohsc.cases.grid import SORTS, grid_filter
from ohsc.cases.service import CaseService
from ohsc.errors import InvalidInputError, OhscError
from ohsc.review.model import Reviewer
from ohsc.review.previews import mime_type
from ohsc.signals.sniff import SNIFF_BYTES, image_format, video_format
from ohsc.web.auth import AdminUser, ReviewerUser, get_services
from ohsc.web.services import Services
from ohsc.web.templating import render
from ohsc.web.ui.review_media import _PLACEHOLDER

router = APIRouter(prefix="/cases", include_in_schema=False)

PAGE = 100


def _service(request: Request, user: User) -> CaseService:
    services = get_services(request)
    return CaseService(services.store, services.settings, actor=Reviewer.of_user(user).actor)


def _query(params: dict[str, str]) -> str:
    keys = ("known", "category", "kind", "source", "min_size", "max_size", "from", "to", "min_stack", "series", "disputed", "stack", "sort")  # fmt: skip
    return urlencode({k: params[k] for k in keys if params.get(k)})


@router.get("")
async def case_list(request: Request, user: ReviewerUser) -> Response:
    cases = await run_in_threadpool(_service(request, user).list_cases)
    return render(request, "cases/list.html", {"cases": cases, "message": request.query_params.get("msg")})


@router.post("")
async def create(
    request: Request,
    user: AdminUser,
    name: Annotated[str, Form(max_length=200)],
    scheme: Annotated[str, Form(max_length=8)] = "us",
    agreement: Annotated[int, Form(ge=1, le=5)] = 1,
) -> Response:
    service = _service(request, user)
    try:
        made = await run_in_threadpool(lambda: service.create(name, scheme=scheme, agreement=agreement))
    except OhscError as exc:
        return RedirectResponse("/cases?" + urlencode({"msg": exc.message}), status_code=303)
    return RedirectResponse(f"/cases/{made.id}", status_code=303)


def _dashboard(services: Services, service: CaseService, ref: str, user: User) -> dict[str, Any]:
    case = service.get(ref)
    return {
        "case": case,
        "stats": service.stats(case.id),
        "scheme": get_scheme(case.scheme),
        "exposure": services.review.exposure(user.id),
        "sources": service.sources(case.id),
        "ingest_root": services.settings.case_ingest_root,
    }


@router.get("/{ref}")
async def dashboard(ref: str, request: Request, user: ReviewerUser) -> Response:
    ctx = await run_in_threadpool(_dashboard, get_services(request), _service(request, user), ref, user)
    ctx["message"] = request.query_params.get("msg")
    return render(request, "cases/dashboard.html", ctx)


@router.post("/{ref}/ingest")
async def ingest(
    ref: str, request: Request, user: AdminUser, path: Annotated[str, Form(max_length=4096)]
) -> Response:
    """Start ingesting a source under ``OHSC_CASE_INGEST_ROOT`` in the background (the same
    library calls as ``POST /v1/cases/{ref}/ingest``); the dashboard shows its progress."""
    services = get_services(request)
    service = _service(request, user)
    try:
        started = await run_in_threadpool(service.start_ingest, ref, path)
        matcher = services.require_matcher()
    except OhscError as exc:
        return RedirectResponse(f"/cases/{ref}?" + urlencode({"msg": exc.message}), status_code=303)
    services.tasks.start(
        f"case-ingest-{started['id']}",
        lambda: service.run_started(started["case_id"], started, matcher=matcher),
    )
    msg = f"Ingest of {path} started."
    return RedirectResponse(f"/cases/{started['case_id']}?" + urlencode({"msg": msg}), status_code=303)


@router.get("/{ref}/sources/{source_id}")
async def source(ref: str, source_id: int, request: Request, user: ReviewerUser) -> JSONResponse:
    """A source's ingest status and progress, polled by the dashboard while it runs."""
    return JSONResponse(await run_in_threadpool(_service(request, user).source, ref, source_id))


def _grid(
    services: Services, service: CaseService, ref: str, user: User, params: dict[str, str]
) -> dict[str, Any]:
    case = service.get(ref)
    flt = grid_filter(params)
    got = service.grid(case.id, flt, cursor=params.get("cursor") or None, limit=PAGE)
    mine = service.my_votes(case.id, [i.id for i in got["items"]])
    return {
        "case": case,
        "scheme": get_scheme(case.scheme),
        "items": got["items"],
        "stack_sizes": got["stack_sizes"],
        "mine": mine,
        "next_cursor": got["next"],
        "flt": flt,
        "params": params,
        "query": _query(params),
        "sorts": SORTS,
        "exposure": services.review.exposure(user.id),
        "sources": service.sources(case.id),
    }


@router.get("/{ref}/export.vics")
async def export_vics(ref: str, request: Request, user: ReviewerUser, all: str = "") -> Response:
    """The case as VICS 2.0 JSON (the same audited call as ``ohsc case export``)."""
    service = _service(request, user)

    def run() -> tuple[bytes, str]:
        buf = io.BytesIO()
        service.export_vics(ref, buf, categorised_only=not all)
        return buf.getvalue(), service.get(ref).name

    data, name = await run_in_threadpool(run)
    return Response(data, media_type="application/json", headers=_attachment(name, "vics.json"))


@router.get("/{ref}/report")
async def report(ref: str, request: Request, user: ReviewerUser, format: str = "html") -> Response:
    """The case report, HTML or PDF (the same audited call as ``ohsc case report``): counts,
    hash lists and who categorised what; no pictures."""
    service = _service(request, user)
    data = await run_in_threadpool(service.report, ref, format)
    name = await run_in_threadpool(lambda: service.get(ref).name)
    media = "application/pdf" if format == "pdf" else "text/html; charset=utf-8"
    return Response(data, media_type=media, headers=_attachment(name, f"report.{format}"))


def _attachment(case_name: str, suffix: str) -> dict[str, str]:
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in case_name)[:80]
    return {
        "Content-Disposition": f'attachment; filename="case-{safe}-{suffix}"',
        "Cache-Control": "no-store",
    }


@router.get("/{ref}/grid")
async def grid(ref: str, request: Request, user: ReviewerUser) -> Response:
    params = dict(request.query_params)
    try:
        ctx = await run_in_threadpool(
            _grid, get_services(request), _service(request, user), ref, user, params
        )
    except InvalidInputError as exc:
        return RedirectResponse(f"/cases/{ref}/grid?" + urlencode({"msg": exc.message}), status_code=303)
    ctx["message"] = params.get("msg")
    return render(request, "cases/grid.html", ctx)


@router.get("/{ref}/disagreements")
async def disagreements(ref: str, request: Request, user: ReviewerUser) -> Response:
    return RedirectResponse(f"/cases/{ref}/grid?disputed=1", status_code=303)


@router.post("/{ref}/categorise")
async def categorise(ref: str, request: Request, user: ReviewerUser) -> JSONResponse:
    """``{"item_ids": [...], "category": "1", "whole_stacks": false}`` from the grid's keys."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise InvalidInputError("send a JSON object (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInputError("expected a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidInputError("expected a JSON object")
    ids = body.get("item_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidInputError("item_ids is a list of item numbers")
    category = body.get("category")
    if not isinstance(category, str):
        raise InvalidInputError("category is text")
    service = _service(request, user)

    def run() -> dict[str, Any]:
        result = service.categorise(ref, ids, category, whole_stacks=bool(body.get("whole_stacks")))
        result["updated"] = service.tiles(ref, result["item_ids"])
        return result

    return JSONResponse(await run_in_threadpool(run))


@router.get("/{ref}/items/{item_id}")
async def item_page(ref: str, item_id: int, request: Request, user: ReviewerUser) -> Response:
    services = get_services(request)
    service = _service(request, user)

    def load() -> dict[str, Any]:
        detail = service.item(ref, item_id)
        case = service.get(ref)
        return {
            "case": case,
            "scheme": get_scheme(case.scheme),
            "item": detail,
            "mine": service.my_votes(case.id, [item_id]).get(item_id),
            "exposure": services.review.exposure(user.id),
        }

    return render(request, "cases/item.html", await run_in_threadpool(load))


@router.get("/{ref}/items/{item_id}/preview")
async def preview(ref: str, item_id: int, request: Request, user: ReviewerUser) -> Response:
    """A small, greyscale, blurred preview made here: nothing sharper reaches the browser."""
    data = await run_in_threadpool(_service(request, user).preview, ref, item_id)
    if data is None:
        return Response(_PLACEHOLDER, media_type="image/svg+xml")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=600"})


@router.post("/{ref}/items/{item_id}/reveal")
async def reveal(ref: str, item_id: int, request: Request, user: ReviewerUser) -> JSONResponse:
    services = get_services(request)
    service = _service(request, user)

    def run() -> str:
        exposure = services.review.exposure(user.id)
        return service.reveal(
            ref, item_id, user.id, limit_reached=exposure.limit_reached, grants=services.review.grants
        )

    grant = await run_in_threadpool(run)
    return JSONResponse({"url": f"/cases/{ref}/items/{item_id}/media?" + urlencode({"grant": grant})})


@router.get("/{ref}/items/{item_id}/media")
async def media(ref: str, item_id: int, request: Request, user: ReviewerUser, grant: str = "") -> Response:
    services = get_services(request)
    data = await run_in_threadpool(
        lambda: _service(request, user).media(ref, item_id, user.id, grant, grants=services.review.grants)
    )
    head = data[:SNIFF_BYTES]
    fmt = image_format(head)
    return Response(
        data,
        media_type=mime_type(fmt, "image") if fmt else mime_type(video_format(head), "video"),
        headers={"Content-Disposition": "inline", "Cache-Control": "no-store, private"},
    )
