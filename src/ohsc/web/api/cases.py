"""Triage cases over HTTP (API keys with the ``review`` scope): list, create, ingest a
server-side source (under ``OHSC_CASE_INGEST_ROOT`` only) in the background with its progress,
stats, the grid's items with filters and cursor paging, one item, categorise, VICS export."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ohsc.cases.grid import grid_filter
from ohsc.cases.service import CaseService
from ohsc.web.api.common import PROBLEMS, read_json
from ohsc.web.auth import ReviewClient, get_services

router = APIRouter(tags=["cases"], responses=PROBLEMS)


class CaseIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scheme: str = Field(default="us", max_length=8)
    agreement: int = Field(default=1, ge=1, le=5)
    stack_threshold: int | None = Field(default=None, ge=0, le=128)
    series_seconds: int = Field(default=3600, ge=1)
    description: str = Field(default="", max_length=5000)


class IngestIn(BaseModel):
    #: a file or folder under OHSC_CASE_INGEST_ROOT (relative to it, or absolute)
    path: str = Field(min_length=1, max_length=4096)


class CategoriseIn(BaseModel):
    item_ids: list[int] = Field(min_length=1, max_length=10_000)
    category: str = Field(min_length=1, max_length=64)
    whole_stacks: bool = False


def _service(request: Request, actor: str) -> CaseService:
    services = get_services(request)
    return CaseService(services.store, services.settings, actor=actor)


@router.get("/cases", summary="List cases")
async def list_cases(request: Request, client: ReviewClient) -> dict[str, Any]:
    cases = await run_in_threadpool(_service(request, client.actor).list_cases)
    return {"items": [c.to_dict() for c in cases]}


@router.post("/cases", status_code=201, summary="Create a case")
async def create_case(request: Request, client: ReviewClient) -> dict[str, Any]:
    body: CaseIn = await read_json(request, CaseIn)
    service = _service(request, client.actor)
    made = await run_in_threadpool(
        lambda: service.create(
            body.name,
            scheme=body.scheme,
            agreement=body.agreement,
            stack_threshold=body.stack_threshold,
            series_seconds=body.series_seconds,
            description=body.description,
        )
    )
    return made.to_dict()


@router.post("/cases/{ref}/ingest", status_code=202, summary="Ingest a server-side source in the background")
async def ingest(ref: str, request: Request, client: ReviewClient) -> dict[str, Any]:
    """The source must lie under ``OHSC_CASE_INGEST_ROOT`` (403 otherwise, and when it is not
    set). Answers at once with the source; poll ``GET /v1/cases/{ref}/sources/{id}`` for its
    progress (``total``, ``done``, ``status``: queued, running, done, interrupted, failed)."""
    body: IngestIn = await read_json(request, IngestIn)
    services = get_services(request)
    service = _service(request, client.actor)
    started = await run_in_threadpool(service.start_ingest, ref, body.path)
    matcher = services.require_matcher()
    services.tasks.start(
        f"case-ingest-{started['id']}",
        lambda: service.run_started(started["case_id"], started, matcher=matcher),
    )
    return {k: v for k, v in started.items() if k != "resolved"}


@router.get("/cases/{ref}/sources/{source_id}", summary="One source of a case, with its ingest's progress")
async def source(ref: str, source_id: int, request: Request, client: ReviewClient) -> dict[str, Any]:
    return await run_in_threadpool(_service(request, client.actor).source, ref, source_id)


@router.get("/cases/{ref}/stats", summary="A case's counts")
async def stats(ref: str, request: Request, client: ReviewClient) -> dict[str, Any]:
    st = await run_in_threadpool(_service(request, client.actor).stats, ref)
    return st.to_dict()


@router.get("/cases/{ref}/items", summary="The grid's items: unknown first, filters, cursor paging")
async def items(
    ref: str, request: Request, client: ReviewClient, cursor: str | None = None, limit: int = 100
) -> dict[str, Any]:
    """Filters: ``known`` (known|unknown), ``category`` (a VICS code or none), ``kind``,
    ``source``, ``min_size``, ``max_size``, ``from``, ``to``, ``min_stack``, ``series`` (an id or
    any), ``disputed=1``, ``stack``; ``sort``: unknown-first, newest, largest, stack."""
    flt = grid_filter(dict(request.query_params))
    got = await run_in_threadpool(
        lambda: _service(request, client.actor).grid(ref, flt, cursor=cursor, limit=limit)
    )
    return {
        "items": [{**i.to_dict(), "stack_size": got["stack_sizes"].get(i.stack_id, 1)} for i in got["items"]],
        "next_cursor": got["next"],
    }


@router.get("/cases/{ref}/items/{item_id}", summary="One item: locations, EXIF, votes, stack")
async def item(ref: str, item_id: int, request: Request, client: ReviewClient) -> dict[str, Any]:
    return await run_in_threadpool(_service(request, client.actor).item, ref, item_id)


@router.post("/cases/{ref}/categorise", summary="This client's category for items (votes)")
async def categorise(ref: str, request: Request, client: ReviewClient) -> dict[str, Any]:
    body: CategoriseIn = await read_json(request, CategoriseIn)
    service = _service(request, client.actor)
    return await run_in_threadpool(
        lambda: service.categorise(ref, body.item_ids, body.category, whole_stacks=body.whole_stacks)
    )


@router.get("/cases/{ref}/export.vics", summary="The case as Project VIC VICS 2.0 JSON")
async def export_vics(ref: str, request: Request, client: ReviewClient, all: bool = False) -> Response:
    service = _service(request, client.actor)

    def run() -> bytes:
        buf = io.BytesIO()
        service.export_vics(ref, buf, categorised_only=not all)
        return buf.getvalue()

    data = await run_in_threadpool(run)
    return Response(
        data,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="case.json"'},
    )


@router.get("/cases/{ref}/report", summary="The case report, HTML or PDF (no pictures)")
async def report(ref: str, request: Request, client: ReviewClient, format: str = "html") -> Response:
    data = await run_in_threadpool(_service(request, client.actor).report, ref, format)
    media = "application/pdf" if format == "pdf" else "text/html; charset=utf-8"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="report.{format}"'}
    )
