"""Reports to authorities over HTTP (scope ``report``): list, get, create, patch, plan, submit, retract.

Thin shells over :class:`ohsc.reports.service.ReportService`; the API client acts as a reporter.
A draft is created empty, from a body, or from a confirmed review item (``review_item_id``, with
``report_id`` to add its file to an open draft). ``PATCH`` takes a partial body and the version
the caller edited (``expected_version``): a newer version on the server answers 409.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ohsc.reports.from_review import draft_from_review
from ohsc.reports.service import ReportService
from ohsc.web.actors import client_actor
from ohsc.web.api.common import PROBLEMS
from ohsc.web.auth import ReportClient, get_services
from ohsc.web.reporting import report_service

router = APIRouter(prefix="/reports", tags=["reports"], responses=PROBLEMS)


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: dict[str, Any] | None = Field(default=None, description="Draft fields (see docs/reporting.md).")
    review_item_id: int | None = Field(default=None, description="Start from this confirmed review item.")
    report_id: int | None = Field(default=None, description="With review_item_id: add to this open draft.")


class ReportPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    patch: dict[str, Any] = Field(
        description="Partial body: objects merge, lists and values replace, null clears."
    )
    expected_version: int | None = Field(default=None, description="The version you edited (409 if older).")


class Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_version: int | None = Field(
        default=None, description="The version shown by /plan: a newer draft answers 409, not filed."
    )


class Retraction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


def _svc(request: Request, client: ReportClient) -> ReportService:
    return report_service(get_services(request), client_actor(client))


@router.get("")
async def list_reports(
    request: Request,
    client: ReportClient,
    status: str | None = Query(default=None, description="draft, submitting, filed, failed or retracted"),
    limit: int = Query(default=100, ge=1, le=500),
) -> dict[str, Any]:
    """Reports, newest first, with each destination's state and remote id."""
    svc = _svc(request, client)
    rows = await run_in_threadpool(lambda: svc.summaries(status=status, limit=limit))
    return {"items": [r.to_dict() for r in rows]}


@router.post("", status_code=201)
async def create_report(request: Request, client: ReportClient, data: ReportCreate) -> dict[str, Any]:
    """A new draft (or a confirmed review item's file added to an open draft)."""
    services = get_services(request)
    svc = _svc(request, client)
    if data.review_item_id is not None:
        item_id = data.review_item_id
        result = await run_in_threadpool(
            lambda: draft_from_review(svc, services.review, item_id, report_id=data.report_id)
        )
        if data.body:
            result = await run_in_threadpool(
                lambda: svc.update(result.report.id, data.body or {}, expected_version=result.report.version)
            )
    else:
        result = await run_in_threadpool(lambda: svc.create_draft(data.body))
    return result.to_dict()


@router.get("/{report_id}")
async def get_report(report_id: int, request: Request, client: ReportClient) -> dict[str, Any]:
    """The report, what it still lacks per destination, and its submissions."""
    svc = _svc(request, client)

    def run() -> dict[str, Any]:
        result = svc.check(report_id)
        return {**result.to_dict(), "submissions": [x.to_dict() for x in svc.submissions(report_id)]}

    return await run_in_threadpool(run)


@router.patch("/{report_id}")
async def patch_report(
    report_id: int, request: Request, client: ReportClient, data: ReportPatch
) -> dict[str, Any]:
    """Save part of a draft; 422 names each refused field, 409 when someone saved a newer version."""
    svc = _svc(request, client)
    result = await run_in_threadpool(
        lambda: svc.update(report_id, data.patch, expected_version=data.expected_version)
    )
    return result.to_dict()


@router.get("/{report_id}/plan")
async def report_plan(report_id: int, request: Request, client: ReportClient) -> dict[str, Any]:
    """What submitting would do: each destination and what it receives, what blocks it, and the
    version this describes (send it as ``expected_version`` to file exactly that)."""
    svc = _svc(request, client)
    plan = await run_in_threadpool(svc.plan, report_id)
    return plan.to_dict()


@router.post("/{report_id}/submit")
async def submit_report(
    report_id: int, request: Request, client: ReportClient, data: Submission | None = None
) -> dict[str, Any]:
    """Submit to every destination, or resume an interrupted submission. With
    ``expected_version`` (from ``/plan``), a draft changed since answers 409 instead of being filed."""
    svc = _svc(request, client)
    version = data.expected_version if data is not None else None
    result = await run_in_threadpool(lambda: svc.submit(report_id, expected_version=version))
    return result.to_dict()


@router.post("/{report_id}/retract")
async def retract_report(
    report_id: int, request: Request, client: ReportClient, data: Retraction
) -> dict[str, Any]:
    svc = _svc(request, client)
    result = await run_in_threadpool(lambda: svc.retract(report_id, reason=data.reason))
    return result.to_dict()
