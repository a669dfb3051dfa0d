"""The console's figures: the match log (``/matches``, admins), the dashboard (``/dashboard``) and
the transparency report (``/transparency``, as a page, CSV or JSON), for admins and auditors.
Each page parses its query, calls one ``ohsc.figures`` function and renders."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ohsc.content.matchlog import MatchQuery
from ohsc.errors import InvalidInputError
from ohsc.figures.dashboard import dashboard
from ohsc.figures.matches import match_log
from ohsc.figures.transparency import DEFINITIONS, transparency_report
from ohsc.store.types import parse_when
from ohsc.web.auth import AdminUser, AuditorUser, get_services
from ohsc.web.paging import decode_cursor, encode_cursor
from ohsc.web.templating import render
from ohsc.web.ui.chart import bar_chart, line_chart

router = APIRouter(include_in_schema=False)
PAGE = 50
VERDICTS = ("block", "review", "allow")
PERIODS = (7, 28, 90)


def period(since: str, until: str) -> tuple[datetime | None, datetime | None]:
    """The form's dates: a bare ``until`` date is a day people include (it ends at the next midnight)."""
    start, end = parse_when(since, "from"), parse_when(until, "until")
    if end is not None and len(until.strip()) == 10:
        end += timedelta(days=1)
    return start, end


def _match_query(q: dict[str, str]) -> MatchQuery:
    content = q.get("content", "").strip()
    verdict = q.get("verdict", "").strip()
    if verdict and verdict not in VERDICTS:
        raise InvalidInputError(f"verdict is one of {', '.join(VERDICTS)}")
    since, until = period(q.get("since", ""), q.get("until", ""))
    return MatchQuery(
        bank=q.get("bank", "").strip() or None,
        verdict=verdict or None,
        content_id=int(content) if content.isascii() and content.isdigit() and len(content) < 19 else None,
        content_ref=content if content and not (content.isascii() and content.isdigit()) else None,
        hash=q.get("hash", "").strip() or None,
        since=since,
        until=until,
    )


@router.get("/matches")
async def matches_page(request: Request, _user: AdminUser) -> Response:
    services = get_services(request)
    q = {k: v for k, v in request.query_params.items() if k != "cursor"}
    before = decode_cursor(request.query_params.get("cursor"))
    query = _match_query(q)
    rows = await run_in_threadpool(lambda: match_log(services.store, query, before=before, limit=PAGE + 1))
    nxt = None
    if len(rows) > PAGE:
        rows = rows[:PAGE]
        nxt = urlencode({**{k: v for k, v in q.items() if v}, "cursor": encode_cursor(rows[-1].match_id)})
    return render(
        request, "figures/matches.html", {"rows": rows, "q": q, "verdicts": VERDICTS, "next_query": nxt}
    )


@router.get("/dashboard")
async def dashboard_page(request: Request, _user: AuditorUser, days: int = 28) -> Response:
    services = get_services(request)
    days = days if days in PERIODS else 28
    limit = services.settings.review_daily_reveal_limit
    figures = await run_in_threadpool(lambda: dashboard(services.store, days=days, daily_limit=limit))
    decisions_total = {who: sum(v) for who, v in figures.decisions.items()}
    times = {
        k: v
        for k, v in (
            ("match to decision", figures.median_match_to_decision_seconds),
            ("decision to report", figures.median_decision_to_report_seconds),
            ("match to report", figures.median_match_to_report_seconds),
        )
        if v is not None
    }
    longest = max(times.values(), default=0.0)
    unit, scale = (
        ("hours", 3600) if longest >= 7200 else ("minutes", 60) if longest >= 120 else ("seconds", 1)
    )
    ctx: dict[str, Any] = {
        "f": figures,
        "days": days,
        "periods": PERIODS,
        "queue_chart": bar_chart(figures.queue_by_age),
        "decisions_chart": line_chart(figures.days, figures.decisions),
        "decisions_total": decisions_total,
        "exposure_chart": bar_chart({f"{r.reviewer} {r.week}": r.reveals for r in figures.exposure}),
        "revealed_chart": bar_chart(
            {f"{r.reviewer} {r.week}": round(r.seconds_revealed / 60, 1) for r in figures.exposure}
        ),
        "matches_chart": line_chart(figures.days, figures.matches_per_day),
        "bank_chart": bar_chart(dict(figures.matches_by_bank)),
        "times_chart": bar_chart({k: round(v / scale, 1) for k, v in times.items()}),
        "times_unit": unit,
    }
    return render(request, "figures/dashboard.html", ctx)


@router.get("/transparency")
async def transparency_page(
    request: Request, user: AuditorUser, since: str = "", until: str = "", format: str = "html"
) -> Response:
    services = get_services(request)
    start, end = period(since, until)
    figures = await run_in_threadpool(
        lambda: transparency_report(services.store, user.actor, since=start, until=end)
    )
    if format == "csv":
        return Response(
            figures.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="ohsc-transparency.csv"'},
        )
    if format == "json":
        return Response(json.dumps(figures.to_dict(), indent=2), media_type="application/json")
    ctx = {"f": figures, "since": since, "until": until, "definitions": DEFINITIONS}
    return render(request, "figures/transparency.html", ctx)
