"""Report statistics for transparency reports: a page and its CSV."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ohsc.store.types import parse_when
from ohsc.web.actors import user_actor
from ohsc.web.auth import ReportReaderUser, get_services
from ohsc.web.reporting import report_service
from ohsc.web.templating import render

router = APIRouter(prefix="/reports", include_in_schema=False)


@router.get("/stats")
async def stats_page(request: Request, user: ReportReaderUser, since: str = "", until: str = "") -> Response:
    svc = report_service(get_services(request), user_actor(user))
    start, end = parse_when(since, "since"), parse_when(until, "until")
    figures = await run_in_threadpool(lambda: svc.stats(since=start, until=end))
    return render(request, "reports/stats.html", {"stats": figures, "since": since, "until": until})


@router.get("/stats.csv")
async def stats_csv(request: Request, user: ReportReaderUser, since: str = "", until: str = "") -> Response:
    svc = report_service(get_services(request), user_actor(user))
    start, end = parse_when(since, "since"), parse_when(until, "until")
    figures = await run_in_threadpool(lambda: svc.stats(since=start, until=end))
    return Response(
        figures.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ohsc-report-stats.csv"'},
    )
