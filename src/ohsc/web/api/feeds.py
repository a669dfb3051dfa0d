"""Feeds this node publishes to partners: ``GET /v1/feeds/{bank}``, ``POST /v1/feeds/{bank}/feedback``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import ApiClient
from ohsc.accounts.roles import Scope
from ohsc.errors import InvalidInputError
from ohsc.exchanges.feeds import FeedService
from ohsc.exchanges.model import Verdict
from ohsc.store.types import ascii_int
from ohsc.web.api.common import PROBLEMS
from ohsc.web.auth import get_services, require_api_key

router = APIRouter(prefix="/feeds", tags=["feeds"], responses=PROBLEMS)

FeedClient = Annotated[ApiClient, Depends(require_api_key(Scope.FEED))]


def _feeds(request: Request, client: ApiClient) -> FeedService:
    services = get_services(request)
    return FeedService(services.store, services.settings, actor=client.actor)


@router.get("/{bank}", summary="A page of a published feed")
async def feed_page(request: Request, bank: str, client: FeedClient, after: str = "0") -> Response:
    """The bank's entries and withdrawals after cursor ``after`` (0: from the start), in sequence
    order, at most ``OHSC_FEED_PAGE_SIZE`` of them, signed with this node's Ed25519 key
    (``ohsc feed key``). Continue with ``after=<next>`` while ``more`` is true. Only banks
    published to the calling key are served (404 otherwise)."""
    cursor = ascii_int(after)
    if cursor is None:
        raise InvalidInputError("after must be a cursor a previous page returned (0 to start)")
    page = await run_in_threadpool(_feeds(request, client).page_json, bank, client.key_id, after=cursor)
    return Response(page, media_type="application/json")  # signed canonical JSON, encoded once


class FeedbackItem(BaseModel):
    id: str = Field(max_length=40, description="The entry id as the feed page gave it.")
    verdict: Literal["confirmed", "disputed"]


class FeedbackIn(BaseModel):
    feedback: list[FeedbackItem] = Field(max_length=10000)


@router.post("/{bank}/feedback", summary="Tell the publisher which entries matched rightly or wrongly")
async def feed_feedback(request: Request, bank: str, body: FeedbackIn, client: FeedClient) -> dict[str, Any]:
    """Reviewer verdicts on matches of this feed's entries: ``confirmed`` (the match was what the
    list says) or ``disputed`` (it was not). The publisher sees them per entry."""
    items = [(item.id, Verdict(item.verdict)) for item in body.feedback]
    recorded = await run_in_threadpool(_feeds(request, client).record_feedback, bank, client.key_id, items)
    return {"recorded": recorded}
