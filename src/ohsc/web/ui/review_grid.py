"""Review at volume: the grid. Items a reviewer holds, blurred first, revealed step by step
(sharp greyscale, then full colour, each step a recorded reveal), decided together under the
single-decision rules (:mod:`ohsc.review.bulk`), each with its metadata and, where the bank keeps
one, its reference thumbnail beside it."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.errors import OhscError
from ohsc.review.bulk import BULK_MAX
from ohsc.review.model import Choice, ItemOutcome, Reviewer, ReviewItem
from ohsc.review.queue import SORTS, QueueFilter
from ohsc.web.auth import ReviewerUser, get_services
from ohsc.web.services import Services
from ohsc.web.templating import render
from ohsc.web.ui.review import LABELS

router = APIRouter(prefix="/review", include_in_schema=False)

_PLACEHOLDER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 180" width="240" height="180">'
    b'<rect width="240" height="180" fill="#3a4150"/><text x="120" y="96" fill="#cfd6e4" '
    b'font-family="sans-serif" font-size="14" text-anchor="middle">no picture</text></svg>'
)


def _sort(value: str | None) -> str:
    return value if value in SORTS else "queue"


def _cell(services: Services, item: ReviewItem, provenance: dict[str, Any]) -> dict[str, Any]:
    detail = services.review.detail(item.id)
    matches = [m for m in detail.matches if m["kind"] == "match"]
    best = min(matches, key=lambda m: m["distance"], default=None)
    reference = next(
        (m for m in sorted(matches, key=lambda m: m["distance"]) if m["entry_id"] in detail.thumbnails), None
    )
    return {"item": item, "matches": matches, "best": best, "reference": reference, **provenance}


def _grid_context(services: Services, reviewer: Reviewer, sort: str, user_id: int) -> dict[str, Any]:
    items = services.review.grid(reviewer, sort)
    provenance = services.review.provenance([i.id for i in items])
    banks = sorted(b.name for b in services.banks("web").list_banks() if not b.is_allowlist)
    return {
        "cells": [_cell(services, i, provenance.get(i.id, {})) for i in items],
        "sort": sort,
        "sorts": SORTS,
        "banks": banks,
        "bulk_max": BULK_MAX,
        "exposure": services.review.exposure(user_id),
        "undoable": services.review.undoable(reviewer),
        "labels": LABELS,
    }


@router.get("/grid")
async def grid(request: Request, user: ReviewerUser) -> Response:
    services = get_services(request)
    sort = _sort(request.query_params.get("sort"))
    ctx = await run_in_threadpool(_grid_context, services, Reviewer.of_user(user), sort, user.id)
    ctx["grid_message"] = request.query_params.get("msg")
    return render(request, "grid.html", ctx)


@router.post("/grid/take")
async def take(
    request: Request,
    user: ReviewerUser,
    sort: Annotated[str, Form(max_length=20)] = "queue",
    bank: Annotated[str, Form(max_length=200)] = "",
    category: Annotated[str, Form(max_length=100)] = "",
    q: Annotated[str, Form(max_length=300)] = "",
    count: Annotated[int, Form(ge=1, le=BULK_MAX)] = 12,
) -> Response:
    """Put more items matching a search and filters on the grid (claims them), in a sort order."""
    services = get_services(request)
    flt = QueueFilter(status="pending", bank=bank or None, category=category or None, text=q.strip() or None)
    sort = _sort(sort)
    try:
        held = await run_in_threadpool(
            lambda: services.review.claim_many(Reviewer.of_user(user), flt, sort=sort, limit=count)
        )
        msg = f"Your grid holds {len(held)} item(s)."
    except OhscError as exc:
        msg = exc.message
    return RedirectResponse("/review/grid?" + urlencode({"sort": sort, "msg": msg}), status_code=303)


@router.post("/grid/reveal")
async def reveal_many(
    request: Request,
    user: ReviewerUser,
    item: Annotated[list[int], Form()],
    target: Annotated[str, Form(max_length=8)] = "grey",
) -> JSONResponse:
    """Record a reveal of each selected item (``grey`` or ``media``); per item its unlocking URL
    or why it was refused (the exposure limit reached midway refuses the rest)."""
    services = get_services(request)
    outcomes = await run_in_threadpool(
        lambda: services.review.reveal_many(item, Reviewer.of_user(user), target=target)
    )
    return JSONResponse({"results": [o.to_dict() for o in outcomes]})


def _summary(outcomes: list[ItemOutcome]) -> str:
    done = [o for o in outcomes if o.ok]
    refused = [o for o in outcomes if not o.ok]
    text = f"Decided {len(done)} of {len(outcomes)}."
    if refused:
        text += " Refused: " + "; ".join(f"#{o.item_id}: {o.message}" for o in refused)
    return text


@router.post("/grid/decide")
async def decide_many(
    request: Request,
    user: ReviewerUser,
    decision: Annotated[str, Form(max_length=20)],
    item: Annotated[list[int], Form()],
    sort: Annotated[str, Form(max_length=20)] = "queue",
    note: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Decide the selected items together; the page then lists each item's outcome."""
    services = get_services(request)
    reviewer = Reviewer.of_user(user)
    try:
        choice = Choice(decision)
    except ValueError:
        return RedirectResponse("/review/grid?" + urlencode({"msg": "Unknown decision."}), status_code=303)

    def run() -> dict[str, Any]:
        outcomes = services.review.decide_many(item, reviewer, choice, note=note)
        ctx = _grid_context(services, reviewer, _sort(sort), user.id)
        return {**ctx, "outcomes": outcomes, "grid_message": _summary(outcomes)}

    try:
        ctx = await run_in_threadpool(run)
    except OhscError as exc:
        return RedirectResponse("/review/grid?" + urlencode({"msg": exc.message}), status_code=303)
    return render(request, "grid.html", ctx)


@router.get("/items/{item_id}/grey")
async def grey(item_id: int, request: Request, user: ReviewerUser, grant: str = "") -> Response:
    """The sharp greyscale picture: only with the grant of a recorded reveal by this user."""
    services = get_services(request)
    data = await run_in_threadpool(services.review.grey, item_id, Reviewer.of_user(user), grant)
    if data is None:
        return Response(
            _PLACEHOLDER, media_type="image/svg+xml", headers={"Cache-Control": "no-store, private"}
        )
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store, private"})
