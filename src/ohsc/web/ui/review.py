"""The review queue and item pages: navigation keys on the queue, decision keys on the item
(armed only once the item has been on screen for ``OHSC_REVIEW_ARM_MS``), undo, reopen, search.
Media routes are in :mod:`ohsc.web.ui.review_media`."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import User
from ohsc.errors import OhscError
from ohsc.review.model import Choice, Reviewer, ReviewItem
from ohsc.review.queue import SORTS, QueueFilter
from ohsc.review.search import HELP as SEARCH_HELP
from ohsc.web.auth import ReviewerUser, get_services
from ohsc.web.paging import decode_cursor, encode_cursor
from ohsc.web.services import Services
from ohsc.web.templating import render
from ohsc.web.ui.report_start import open_drafts

router = APIRouter(prefix="/review", include_in_schema=False)

PAGE = 50
STATUSES = [("pending", "to review"), ("open", "open"), ("awaiting_second", "awaiting second"),
            ("escalated", "escalated"), ("decided", "decided")]  # fmt: skip
#: how the history and the undo bar name what happened (storage keys -> words)
LABELS = {
    "confirm": "confirmed abuse",
    "not_abuse": "not abuse",
    "escalate": "escalated",
    "skip": "skipped",
    "undo": "undid their decision",
    "reopen": "reopened",
    "confirm_first": "confirmed (first of two)",
}


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
        text=(params.get("q") or "").strip()[:300] or None,
    )


def _sort(params: dict[str, str]) -> str | None:
    """A named order (:data:`~ohsc.review.queue.SORTS`) other than the queue's, else None."""
    sort = params.get("sort") or ""
    return sort if sort in SORTS and sort != "queue" else None


def _query(flt: QueueFilter, sort: str | None = None) -> str:
    pairs = (("status", flt.status), ("bank", flt.bank), ("category", flt.category), ("reason", flt.reason),
             ("q", flt.text), ("sort", sort))  # fmt: skip
    return urlencode({k: v for k, v in pairs if v})


def _rows(services: Services, reviewer: Reviewer, items: list[ReviewItem]) -> dict[str, Any]:
    return {
        "items": items,
        "claimable": {i.id for i in items if services.review.can_claim(i, reviewer)},
        "labels": LABELS,
    }


def _queue_context(
    services: Services, user: User, flt: QueueFilter, cursor: str | None, sort: str | None = None
) -> dict[str, Any]:
    reviewer = Reviewer.of_user(user)
    message = None
    try:
        items = services.review.list_items(
            flt, after=decode_cursor(cursor) or 0, limit=PAGE + 1, reviewer=reviewer, sort=sort
        )
    except OhscError as exc:  # a search that cannot be read
        items, message = [], exc.message
    banks = sorted(b.name for b in services.banks("web").list_banks() if not b.is_allowlist)
    return {
        **_rows(services, reviewer, items[:PAGE]),
        # a named sort shows one page (the cursor follows queue order)
        "next_cursor": encode_cursor(items[PAGE - 1].id) if len(items) > PAGE and sort is None else None,
        "flt": flt,
        "sort": sort or "queue",
        "sorts": SORTS,
        "filter_message": message,
        "query": _query(flt, sort),
        "statuses": STATUSES,
        "banks": banks,
        "exposure": services.review.exposure(user.id),
        "undoable": services.review.undoable(reviewer),
        "search_help": SEARCH_HELP,
    }


@router.get("")
async def queue(request: Request, user: ReviewerUser) -> Response:
    services = get_services(request)
    params = dict(request.query_params)
    ctx = await run_in_threadpool(
        _queue_context, services, user, _filter(params), params.get("cursor"), _sort(params)
    )
    ctx["message"] = params.get("msg") or ctx["filter_message"]
    return render(request, "queue.html", ctx)


@router.get("/rows")
async def queue_rows(request: Request, user: ReviewerUser) -> Response:
    services = get_services(request)
    params = dict(request.query_params)
    ctx = await run_in_threadpool(_queue_context, services, user, _filter(params), None, _sort(params))
    return render(request, "_queue_rows.html", ctx)


@router.get("/exposure")
async def exposure(request: Request, user: ReviewerUser) -> Response:
    exp = await run_in_threadpool(get_services(request).review.exposure, user.id)
    return render(request, "_exposure.html", {"exposure": exp})


@router.get("/search")
async def search(request: Request, user: ReviewerUser, q: str = "") -> Response:
    """Items, decided ones too, by item number, content id, hash or bank entry."""
    services = get_services(request)
    reviewer = Reviewer.of_user(user)

    def find() -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "q": q,
            "search_help": SEARCH_HELP,
            "exposure": services.review.exposure(user.id),
            "undoable": services.review.undoable(reviewer),
            "query": "",
        }
        try:
            found = services.review.search(q, reviewer) if q.strip() else []
        except OhscError as exc:
            return {**ctx, **_rows(services, reviewer, []), "message": exc.message, "searched": False}
        return {**ctx, **_rows(services, reviewer, found), "searched": bool(q.strip())}

    ctx = await run_in_threadpool(find)
    return render(request, "search.html", ctx, status_code=422 if ctx.get("message") else 200)


def _claim_next(services: Services, reviewer: Reviewer, flt: QueueFilter) -> str:
    item = services.review.claim_next(reviewer, flt)
    if item is None:
        return "/review?" + urlencode(
            {"msg": "Nothing left to review with these filters.", **({"bank": flt.bank} if flt.bank else {})}
        )
    return f"/review/items/{item.id}"


def _back_to(item_id: int, message: str) -> RedirectResponse:
    return RedirectResponse(f"/review/items/{item_id}?" + urlencode({"msg": message}), status_code=303)


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
    reviewer = Reviewer.of_user(user)
    matches = [m for m in detail.matches if m["kind"] == "match"]
    return {
        "drafts": open_drafts(services, user) if detail.item.decision == Choice.CONFIRM.value else [],
        "item": detail.item,
        "detail": detail,
        "matches": matches,
        "best": min(matches, key=lambda m: m["distance"], default=None),
        "decisions": detail.decisions,
        "thumbnails": detail.thumbnails,
        "mine": detail.item.claimed_by == user.id,
        "can_claim": services.review.can_claim(detail.item, reviewer),
        "match_banks": sorted(b.name for b in banks if not b.is_allowlist),
        "allow_banks": sorted(b.name for b in banks if b.is_allowlist),
        "exposure": services.review.exposure(user.id),
        "undoable": services.review.undoable(reviewer),
        "arm_ms": services.settings.review_arm_ms,
        "labels": LABELS,
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
        return _back_to(item_id, "Unknown decision.")
    banks = {Choice.CONFIRM: add_to_bank_confirm, Choice.NOT_ABUSE: add_to_bank_not_abuse}
    target_bank = banks.get(choice, "")

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
        return _back_to(item_id, exc.message)
    return RedirectResponse(target, status_code=303)


@router.post("/items/{item_id}/undo")
async def undo(item_id: int, request: Request, user: ReviewerUser) -> Response:
    """Take back one's own latest decision (within ``OHSC_REVIEW_UNDO_SECONDS``): the item is
    back on this reviewer's screen."""
    services = get_services(request)
    try:
        await run_in_threadpool(services.review.undo, item_id, Reviewer.of_user(user))
    except OhscError as exc:
        return _back_to(item_id, exc.message)
    return _back_to(item_id, "Your decision was undone: decide this item again.")


@router.post("/items/{item_id}/reopen")
async def reopen(
    item_id: int, request: Request, user: ReviewerUser, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    """Send a decided item back to review, with a reason shown in its history."""
    services = get_services(request)
    try:
        await run_in_threadpool(services.review.reopen, item_id, Reviewer.of_user(user), reason)
    except OhscError as exc:
        return _back_to(item_id, exc.message)
    return _back_to(item_id, "Reopened: the item is back in review.")
