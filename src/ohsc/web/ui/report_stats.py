"""Report statistics for transparency reports: a page and its CSV."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ohsc.errors import OhscError
from ohsc.reports.stats import ReportStats
from ohsc.store.types import parse_when
from ohsc.web.actors import user_actor
from ohsc.web.auth import ReportReaderUser, get_services
from ohsc.web.reporting import report_service
from ohsc.web.templating import render

router = APIRouter(prefix="/reports", include_in_schema=False)


def _period(since: str, until: str) -> tuple[datetime | None, datetime | None]:
    """The form's dates: ``until`` is a day people include (it ends at the next midnight)."""
    start, end = parse_when(since, "from"), parse_when(until, "until")
    if end is not None and len(until.strip()) == 10:  # a bare date: the whole day
        end += timedelta(days=1)
    return start, end


async def _figures(request: Request, user: ReportReaderUser, since: str, until: str) -> ReportStats:
    svc = report_service(get_services(request), user_actor(user))
    start, end = _period(since, until)
    return await run_in_threadpool(lambda: svc.stats(since=start, until=end))


@router.get("/stats")
async def stats_page(request: Request, user: ReportReaderUser, since: str = "", until: str = "") -> Response:
    ctx: dict[str, object] = {"since": since, "until": until, "stats": None, "error": None}
    try:
        ctx["stats"] = await _figures(request, user, since, until)
    except OhscError as exc:  # a reversed period, a date nobody can read: say so, no zeros
        ctx["error"] = exc.message
        return render(request, "reports/stats.html", ctx, status_code=exc.http_status)
    return render(request, "reports/stats.html", ctx)


@router.get("/stats.csv")
async def stats_csv(request: Request, user: ReportReaderUser, since: str = "", until: str = "") -> Response:
    figures = await _figures(request, user, since, until)
    return Response(
        figures.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ohsc-report-stats.csv"'},
    )
