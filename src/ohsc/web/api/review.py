"""Matches and review items over HTTP: list with filters, get, decide."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from ohsc.content import matchlog
from ohsc.figures.matches import match_log
from ohsc.review.model import Choice, Reviewer
from ohsc.review.queue import QueueFilter
from ohsc.review.search import HELP as SEARCH_HELP
from ohsc.web.api.common import PROBLEMS
from ohsc.web.api.schemas import DecisionIn, Page, ReopenIn, ReviewDetailOut, ReviewItemOut
from ohsc.web.auth import ReviewClient, get_services
from ohsc.web.paging import clamp_limit, decode_cursor, page

router = APIRouter(tags=["review"], responses=PROBLEMS)

STATUSES = "open, awaiting_second, escalated, decided, or pending (all but decided)"


@router.get("/matches", response_model=Page[matchlog.MatchRecord], summary="List matches (newest first)")
async def list_matches(
    request: Request,
    _client: ReviewClient,
    limit: int | None = None,
    cursor: str | None = None,
    bank: str | None = Query(default=None, description="Bank name."),
    verdict: str | None = Query(default=None, description="block, review or allow."),
    kind: str | None = Query(default=None, description="match (default), allowlist or suppressed."),
    category: str | None = None,
    entry_id: int | None = None,
    content_id: int | None = Query(default=None, description="OHSC content record id."),
    client_content_id: str | None = Query(default=None, description="Your own content_id of the content."),
    hash: str | None = Query(default=None, description="A bank entry's value (any signal type)."),
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    size = clamp_limit(limit)
    query = matchlog.MatchQuery(
        bank=bank,
        verdict=verdict,
        kind=kind,
        category=category,
        entry_id=entry_id,
        content_id=content_id,
        content_ref=client_content_id,
        hash=hash,
        since=since,
        until=until,
    )
    store = get_services(request).store
    rows = await run_in_threadpool(
        lambda: match_log(store, query, before=decode_cursor(cursor), limit=size + 1)
    )
    return page(rows, size, lambda x: x.match_id, lambda x: x)


@router.get("/matches/{match_id}", response_model=matchlog.MatchRecord, summary="A match")
async def get_match(match_id: int, request: Request, _client: ReviewClient) -> matchlog.MatchRecord:
    store = get_services(request).store
    return await run_in_threadpool(matchlog.get_match, store, match_id)


@router.get("/review-items", response_model=Page[ReviewItemOut], summary="List review items (newest first)")
async def list_items(
    request: Request,
    _client: ReviewClient,
    limit: int | None = None,
    cursor: str | None = None,
    status: str | None = Query(default=None, description=STATUSES),
    bank: str | None = None,
    category: str | None = None,
    reason: str | None = Query(default=None, description="rule or flood."),
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    size = clamp_limit(limit)
    if status not in (None, "pending", "open", "awaiting_second", "escalated", "decided"):
        from ohsc.errors import InvalidInputError

        raise InvalidInputError(f"status must be {STATUSES}")
    flt = QueueFilter(status=status, bank=bank, category=category, reason=reason, since=since, until=until)
    services = get_services(request)
    items = await run_in_threadpool(
        lambda: services.review.list_items(flt, before=decode_cursor(cursor), limit=size + 1)
    )
    return page(items, size, lambda i: i.id, lambda i: i.to_dict())


@router.get("/review-items/search", response_model=Page[ReviewItemOut], summary="Find review items")
async def search_items(
    request: Request,
    client: ReviewClient,
    q: str = Query(max_length=300, description=SEARCH_HELP.capitalize() + "."),
) -> dict[str, Any]:
    """Decided items too, newest first (at most 50; no cursor). Every search is an audit event."""
    services = get_services(request)
    items = await run_in_threadpool(services.review.search, q, Reviewer.of_client(client))
    return {"items": [i.to_dict() for i in items], "next_cursor": None}


@router.get(
    "/review-items/{item_id}", response_model=ReviewDetailOut, summary="A review item with its evidence"
)
async def get_item(item_id: int, request: Request, _client: ReviewClient) -> dict[str, Any]:
    detail = await run_in_threadpool(get_services(request).review.detail, item_id)
    return detail.to_dict()


@router.post("/review-items/{item_id}/decision", response_model=ReviewItemOut, summary="Decide a review item")
async def decide(item_id: int, body: DecisionIn, request: Request, client: ReviewClient) -> dict[str, Any]:
    """``confirm`` (optionally adding the content's hashes to ``add_to_bank``), ``not_abuse``
    (optionally adding them to an allowlist bank) or ``escalate``. An API client never sees the
    media, so its decisions are recorded with ``viewed_unblurred: false``."""
    services = get_services(request)
    item = await run_in_threadpool(
        lambda: services.review.decide(
            item_id,
            Reviewer.of_client(client),
            Choice(body.decision),
            note=body.note,
            add_to_bank=body.add_to_bank,
        )
    )
    return item.to_dict()


@router.post("/review-items/{item_id}/undo", response_model=ReviewItemOut, summary="Undo your decision")
async def undo(item_id: int, request: Request, client: ReviewClient) -> dict[str, Any]:
    """Take back this key's latest decision on the item within ``OHSC_REVIEW_UNDO_SECONDS``
    (409 ``review_state`` after that, or when someone acted on the item since)."""
    services = get_services(request)
    item = await run_in_threadpool(services.review.undo, item_id, Reviewer.of_client(client))
    return item.to_dict()


@router.post("/review-items/{item_id}/reopen", response_model=ReviewItemOut, summary="Reopen a decided item")
async def reopen(item_id: int, body: ReopenIn, request: Request, client: ReviewClient) -> dict[str, Any]:
    """Send a decided item back to review with a reason (kept in its history); hashes its
    decision added to a bank are withdrawn."""
    services = get_services(request)
    item = await run_in_threadpool(services.review.reopen, item_id, Reviewer.of_client(client), body.reason)
    return item.to_dict()
