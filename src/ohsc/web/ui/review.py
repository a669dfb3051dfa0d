"""The review queue and item pages, decisions by keyboard, blurred-first media."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import User
from ohsc.errors import OhscError
from ohsc.review.model import Choice, Reviewer
from ohsc.review.previews import blurred_preview, mime_type
from ohsc.review.queue import QueueFilter
from ohsc.web.auth import ReviewerUser, get_services
from ohsc.web.paging import decode_cursor, encode_cursor
from ohsc.web.services import Services
from ohsc.web.templating import render
from ohsc.web.ui.report_start import open_drafts

router = APIRouter(prefix="/review", include_in_schema=False)

PAGE = 50
STATUSES = [("pending", "to review"), ("open", "open"), ("awaiting_second", "awaiting second"),
            ("escalated", "escalated"), ("decided", "decided")]  # fmt: skip
_PLACEHOLDER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 180" width="240" height="180">'
    b'<rect width="240" height="180" fill="#3a4150"/><text x="120" y="96" fill="#cfd6e4" '
    b'font-family="sans-serif" font-size="14" text-anchor="middle">no preview</text></svg>'
)


def _filter(params: dict[str, str]) -> QueueFilter:
    status = params.get("status") or "pending"
    if status not in {s for s, _ in STATUSES}:
        status = "pending"
    reason = params.get("reason") or None
    return QueueFilter(
        status=status,
        bank=params.get("bank") or None,
        category=params.get("category") or None,
        reason=reason if reason in ("rule", "flood") else None,
    )


def _query(flt: QueueFilter) -> str:
    return urlencode(
        {
            k: v
            for k, v in (
                ("status", flt.status),
                ("bank", flt.bank),
                ("category", flt.category),
                ("reason", flt.reason),
            )
            if v
        }
    )


def _queue_context(services: Services, user_id: int, flt: QueueFilter, cursor: str | None) -> dict[str, Any]:
    items = services.review.list_items(flt, after=decode_cursor(cursor) or 0, limit=PAGE + 1)
    banks = sorted(b.name for b in services.banks("web").list_banks() if not b.is_allowlist)
    return {
        "items": items[:PAGE],
        "next_cursor": encode_cursor(items[PAGE - 1].id) if len(items) > PAGE else None,
        "flt": flt,
        "query": _query(flt),
        "statuses": STATUSES,
        "banks": banks,
        "exposure": services.review.exposure(user_id),
    }


@router.get("")
async def queue(request: Request, user: ReviewerUser) -> Response:
    services = get_services(request)
    params = dict(request.query_params)
    ctx = await run_in_threadpool(_queue_context, services, user.id, _filter(params), params.get("cursor"))
    ctx["message"] = params.get("msg")
    return render(request, "queue.html", ctx)


@router.get("/rows")
async def queue_rows(request: Request, user: ReviewerUser) -> Response:
    services = get_services(request)
    flt = _filter(dict(request.query_params))
    ctx = await run_in_threadpool(_queue_context, services, user.id, flt, None)
    return render(request, "_queue_rows.html", ctx)


@router.get("/exposure")
async def exposure(request: Request, user: ReviewerUser) -> Response:
    exp = await run_in_threadpool(get_services(request).review.exposure, user.id)
    return render(request, "_exposure.html", {"exposure": exp})


def _claim_next(services: Services, reviewer: Reviewer, flt: QueueFilter) -> str:
    item = services.review.claim_next(reviewer, flt)
    if item is None:
        return "/review?" + urlencode(
            {"msg": "Nothing left to review with these filters.", **({"bank": flt.bank} if flt.bank else {})}
        )
    return f"/review/items/{item.id}"


@router.post("/next")
async def next_item(
    request: Request,
    user: ReviewerUser,
    bank: Annotated[str, Form(max_length=200)] = "",
    category: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    flt = QueueFilter(status="pending", bank=bank or None, category=category or None)
    target = await run_in_threadpool(_claim_next, get_services(request), Reviewer.of_user(user), flt)
    return RedirectResponse(target, status_code=303)


@router.post("/items/{item_id}/claim")
async def claim(item_id: int, request: Request, user: ReviewerUser) -> Response:
    services = get_services(request)
    try:
        await run_in_threadpool(services.review.claim, item_id, Reviewer.of_user(user))
    except OhscError as exc:
        return RedirectResponse("/review?" + urlencode({"msg": exc.message}), status_code=303)
    return RedirectResponse(f"/review/items/{item_id}", status_code=303)


def _item_context(services: Services, item_id: int, user: User) -> dict[str, Any]:
    detail = services.review.detail(item_id)
    banks = services.banks("web").list_banks()
    user_id = user.id
    return {
        "drafts": open_drafts(services, user) if detail.item.decision == Choice.CONFIRM.value else [],
        "item": detail.item,
        "matches": [m for m in detail.matches if m["kind"] == "match"],
        "decisions": detail.decisions,
        "thumbnails": detail.thumbnails,
        "mine": detail.item.claimed_by == user_id,
        "match_banks": sorted(b.name for b in banks if not b.is_allowlist),
        "allow_banks": sorted(b.name for b in banks if b.is_allowlist),
        "exposure": services.review.exposure(user_id),
    }


@router.get("/items/{item_id}")
async def item_page(item_id: int, request: Request, user: ReviewerUser) -> Response:
    ctx = await run_in_threadpool(_item_context, get_services(request), item_id, user)
    ctx["message"] = request.query_params.get("msg")
    return render(request, "item.html", ctx)


@router.post("/items/{item_id}/decide")
async def decide(
    item_id: int,
    request: Request,
    user: ReviewerUser,
    decision: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=5000)] = "",
    add_to_bank_confirm: Annotated[str, Form(max_length=200)] = "",
    add_to_bank_not_abuse: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    services = get_services(request)
    reviewer = Reviewer.of_user(user)
    try:
        choice = Choice(decision)
    except ValueError:
        return RedirectResponse(
            f"/review/items/{item_id}?" + urlencode({"msg": "Unknown decision."}), status_code=303
        )
    target_bank = {Choice.CONFIRM: add_to_bank_confirm, Choice.NOT_ABUSE: add_to_bank_not_abuse}.get(
        choice, ""
    )

    def run() -> str:
        decided = services.review.decide(
            item_id, reviewer, choice, note=note, add_to_bank=target_bank or None
        )
        if request.query_params.get("then") == "report" and decided.decision == Choice.CONFIRM.value:
            return f"/review/items/{item_id}?" + urlencode({"msg": "Confirmed. Start a report below."})
        return _claim_next(services, reviewer, QueueFilter(status="pending"))

    try:
        target = await run_in_threadpool(run)
    except OhscError as exc:
        return RedirectResponse(
            f"/review/items/{item_id}?" + urlencode({"msg": exc.message}), status_code=303
        )
    return RedirectResponse(target, status_code=303)


# --- media -----------------------------------------------------------------------------------


@router.get("/items/{item_id}/preview")
async def preview(item_id: int, request: Request, _user: ReviewerUser) -> Response:
    """A small, greyscale, blurred preview made here: nothing sharper reaches the browser."""
    services = get_services(request)

    def make() -> bytes | None:
        media = services.review.preview_source(item_id)
        if media.media_kind != "image":
            return None
        return blurred_preview(media.data, max_pixels=services.settings.max_image_pixels)

    data = await run_in_threadpool(make)
    if data is None:
        return Response(_PLACEHOLDER, media_type="image/svg+xml")
    return Response(data, media_type="image/jpeg")


@router.post("/items/{item_id}/reveal")
async def reveal(
    item_id: int,
    request: Request,
    user: ReviewerUser,
    mode: Annotated[str, Form(max_length=8)] = "click",
    target: Annotated[str, Form(max_length=16)] = "media",
    entry_id: Annotated[int | None, Form()] = None,
) -> JSONResponse:
    """Record a reveal (audited, counted against the daily limit) and answer the unlocking URL."""
    services = get_services(request)
    grant = await run_in_threadpool(
        lambda: services.review.reveal(
            item_id, Reviewer.of_user(user), target=target, entry_id=entry_id, mode=mode
        )
    )
    if target == "reference":
        url = f"/review/items/{item_id}/reference/{entry_id}?" + urlencode({"grant": grant})
    else:
        url = f"/review/items/{item_id}/media?" + urlencode({"grant": grant})
    return JSONResponse({"url": url})


@router.get("/items/{item_id}/media")
async def media(item_id: int, request: Request, user: ReviewerUser, grant: str = "") -> Response:
    """The unblurred media: only with the grant of a recorded reveal by this user."""
    services = get_services(request)
    found = await run_in_threadpool(services.review.media, item_id, Reviewer.of_user(user), grant)
    return Response(
        found.data,
        media_type=mime_type(found.media_format, found.media_kind),
        headers={"Content-Disposition": "inline", "Cache-Control": "no-store, private"},
    )


@router.get("/items/{item_id}/reference/{entry_id}/preview")
async def reference_preview(item_id: int, entry_id: int, request: Request, _user: ReviewerUser) -> Response:
    services = get_services(request)

    def make() -> bytes | None:
        return blurred_preview(services.review.reference(item_id, entry_id))

    data = await run_in_threadpool(make)
    if data is None:
        return Response(_PLACEHOLDER, media_type="image/svg+xml")
    return Response(data, media_type="image/jpeg")


@router.get("/items/{item_id}/reference/{entry_id}")
async def reference(
    item_id: int, entry_id: int, request: Request, user: ReviewerUser, grant: str = ""
) -> Response:
    services = get_services(request)
    data = await run_in_threadpool(
        services.review.reference, item_id, entry_id, Reviewer.of_user(user), grant
    )
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store, private"})
