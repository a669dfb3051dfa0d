"""``POST /v1/hash``, ``POST /v1/match``, ``GET /v1/content/{id}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import ApiClient
from ohsc.content.fetch import Fetcher
from ohsc.content.model import ContentRecord, MatchResult, Submission
from ohsc.errors import InvalidInputError
from ohsc.submissions.service import replayed_result, submission_from_signals, validate_signals
from ohsc.video.text import short_signals
from ohsc.web.api.common import PROBLEMS, is_upload, read_json, read_upload, truthy
from ohsc.web.api.schemas import HashOut, MatchIn, MatchResponse
from ohsc.web.auth import MatchClient, MatchOrReviewClient, get_services
from ohsc.web.services import Services

router = APIRouter(tags=["matching"], responses=PROBLEMS)

_UPLOAD_BODY = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "content_id": {"type": "string", "maxLength": 200},
                "dihedral": {"type": "boolean"},
            },
        }
    },
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
}


def _hash_out(services: Services, data: bytes, dihedral: bool) -> dict[str, Any]:
    sig = services.content("api").hash_upload(data, dihedral=dihedral)
    return {
        "signals": short_signals(sig.signals()),
        "pdq_quality": sig.pdq_quality,
        "pdq_dihedral": sig.pdq_dihedral,
        "vpdq": [f.to_dict() for f in sig.vpdq or []] or None,
        "video": sig.video or None,
        "kind": str(sig.kind),
        "format": sig.format,
        "size": sig.size,
        "error": sig.error,
    }


@router.post(
    "/hash",
    response_model=HashOut,
    summary="Hash an upload",
    openapi_extra={"requestBody": {"required": True, "content": _UPLOAD_BODY}},
)
async def hash_upload(request: Request, client: MatchClient) -> JSONResponse:
    """The signals of an uploaded file: MD5, SHA-1, SHA-256; PDQ for images; vPDQ frames for
    videos and animations (one frame a second). Nothing is kept."""
    services = get_services(request)
    services.match_limit.take(client.prefix)
    data, fields = await read_upload(request, services.settings.upload_read_limit())
    out = await run_in_threadpool(_hash_out, services, data, truthy(fields.get("dihedral")))
    return JSONResponse(out)


def _submit_upload(
    services: Services, client: ApiClient, data: bytes, source: str, fields: dict[str, str]
) -> MatchResult:
    content = services.content(client.actor)
    dihedral = truthy(fields.get("dihedral"))
    sig = content.hash_upload(data, dihedral=dihedral)
    sub = submission_from_signals(sig, source=source, keep_media=data)
    sub.robust = content.robust_query(data, sig)
    sub.client_ref = fields.get("content_id") or None
    sub.api_key_id = client.key_id
    return content.submit(sub, actor=client.actor)


async def _submit_signals(services: Services, client: ApiClient, body: MatchIn) -> MatchResult:
    """Hash-only matching runs on the event loop (no thread hop in the common case)."""
    content = services.content(client.actor)
    sub = Submission(
        signals=validate_signals(body.signals or {}),
        source="signals",
        pdq_quality=body.pdq_quality,
        approximate_dihedral=body.dihedral,
        client_ref=body.content_id,
        api_key_id=client.key_id,
    )
    return await content.submit_async(sub, actor=client.actor)


def _submit_url(services: Services, client: ApiClient, body: MatchIn) -> MatchResult:
    assert body.url is not None
    if body.content_id:
        existing = services.content(client.actor).find_by_client_ref(body.content_id.strip())
        if existing is not None and existing.result:
            # a repeat: answer as before without fetching again
            return replayed_result(existing, signals=dict(existing.signals))
    fetched = Fetcher(services.settings).fetch(body.url)
    fields = {"dihedral": "1" if body.dihedral else ""}
    if body.content_id:
        fields["content_id"] = body.content_id
    return _submit_upload(services, client, fetched.data, "url", fields)


@router.post(
    "/match",
    response_model=MatchResponse,
    summary="Match content against every bank",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": MatchIn.model_json_schema()}, **_UPLOAD_BODY},
        }
    },
)
async def match(request: Request, client: MatchClient) -> JSONResponse:
    """Match an upload (multipart ``file`` or a raw body), or signals only (JSON ``signals``: no media
    leaves your platform), or a URL (JSON ``url``, when fetching is switched on).

    Answers the verdict (``block``, ``review``, ``allow`` or ``none``), the matches with their bank
    entry, distance, category, source and labels, and OHSC's content record id. Repeating a
    ``content_id`` answers the first answer again (``replayed: true``).
    """
    services = get_services(request)
    services.match_limit.take(client.prefix)
    if is_upload(request):
        data, fields = await read_upload(request, services.settings.upload_read_limit())
        result = await run_in_threadpool(_submit_upload, services, client, data, "upload", fields)
    else:
        body: MatchIn = await read_json(request, MatchIn)
        if (body.signals is None) == (body.url is None):
            raise InvalidInputError("give either signals or url")
        if body.signals is not None:
            result = await _submit_signals(services, client, body)
        else:
            result = await run_in_threadpool(_submit_url, services, client, body)
    return JSONResponse(result.to_dict())


@router.get("/content/{content_id}", response_model=ContentRecord, summary="A content record")
async def get_content(
    content_id: int,
    request: Request,
    _client: MatchOrReviewClient,
) -> ContentRecord:
    """What OHSC recorded for one submission (never the media)."""
    return await run_in_threadpool(get_services(request).content("api").record, content_id)
