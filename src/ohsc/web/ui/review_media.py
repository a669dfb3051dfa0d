"""The review pages' media: blurred previews made here, recorded reveals, grant-checked media."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.review.model import Reviewer
from ohsc.review.previews import blurred_preview, mime_type
from ohsc.web.auth import ReviewerUser, get_services

router = APIRouter(prefix="/review", include_in_schema=False)

_PLACEHOLDER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 180" width="240" height="180">'
    b'<rect width="240" height="180" fill="#3a4150"/><text x="120" y="96" fill="#cfd6e4" '
    b'font-family="sans-serif" font-size="14" text-anchor="middle">no preview</text></svg>'
)


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


@router.post("/items/{item_id}/hidden", status_code=204)
async def hidden(
    item_id: int,
    request: Request,
    user: ReviewerUser,
    grant: Annotated[str, Form(max_length=80)],
    target: Annotated[str, Form(max_length=16)] = "media",
    entry_id: Annotated[int | None, Form()] = None,
) -> Response:
    """The browser blurred revealed media again or left the page (sent as a beacon with the
    form's CSRF token): the end of the reveal its grant names, for the time revealed."""
    services = get_services(request)
    await run_in_threadpool(
        lambda: services.review.hidden(
            item_id, Reviewer.of_user(user), grant, target=target, entry_id=entry_id
        )
    )
    return Response(status_code=204)


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
