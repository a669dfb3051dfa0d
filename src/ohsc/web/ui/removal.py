"""Removal in the web app: the removal-time dashboard with its CSV and JSON, the URL list for
blocking partners (admins; audited), and the public side: the URL report form and the splash
page shown instead of a blocked URL (the deterrence interstitial)."""

from __future__ import annotations

import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import User
from ohsc.accounts.roles import Role
from ohsc.errors import ChallengeError, EgressRefusedError, InvalidInputError, RateLimitedError
from ohsc.removal.models import TakedownRow
from ohsc.removal.public import PublicUrlForm
from ohsc.removal.stats import GROUPINGS, live_urls, removal_stats, write_csv
from ohsc.store.types import ascii_int
from ohsc.web.auth import AdminUser, allow_anonymous, get_services, require_user
from ohsc.web.prevention import prevention
from ohsc.web.templating import render
from ohsc.web.ui.help import interstitial, page_context, page_locale

router = APIRouter(include_in_schema=False)
public = APIRouter(include_in_schema=False, dependencies=[Depends(allow_anonymous)])
RemovalUser = Annotated[User, Depends(require_user(Role.REVIEWER, Role.REPORTER, Role.AUDITOR))]
FORM_LIMIT = 16 * 1024


def _by(value: str) -> str:
    return value if value in GROUPINGS else "host"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


@router.get("/removal")
async def dashboard(request: Request, user: RemovalUser, by: str = "host") -> Response:
    store = get_services(request).store
    group = _by(by)

    def load() -> dict[str, Any]:
        with store.session() as s:
            counts = dict(
                s.execute(select(TakedownRow.status, func.count()).group_by(TakedownRow.status)).all()
            )
        return {
            "stats": removal_stats(store, by=group),
            "counts": {str(k): int(v) for k, v in counts.items()},
        }

    ctx = await run_in_threadpool(load)
    return render(
        request, "removal/dashboard.html", {**ctx, "by": group, "groupings": GROUPINGS, "pct": _pct}
    )


@router.get("/removal/stats.csv")
async def stats_csv(request: Request, user: RemovalUser, by: str = "host") -> Response:
    stats = await run_in_threadpool(removal_stats, get_services(request).store, by=_by(by))
    buf = io.StringIO()
    write_csv(stats, buf)
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="ohsc-removal-{_by(by)}.csv"'},
    )


@router.get("/removal/stats.json")
async def stats_json(request: Request, user: RemovalUser, by: str = "host") -> Response:
    stats = await run_in_threadpool(removal_stats, get_services(request).store, by=_by(by))
    body = {"by": _by(by), "groups": [g.to_dict() for g in stats]}
    return Response(json.dumps(body), media_type="application/json")


@router.get("/removal/urllist.txt")
async def urllist(request: Request, user: AdminUser) -> Response:
    urls = await run_in_threadpool(lambda: live_urls(get_services(request).store, actor=user.actor))
    return Response("".join(u + "\n" for u in urls), media_type="text/plain; charset=utf-8")


# --- public ---------------------------------------------------------------------------------


def _form(request: Request) -> PublicUrlForm:
    services = get_services(request)
    form = services.extras.get("removal.public_form")
    if not isinstance(form, PublicUrlForm):
        form = PublicUrlForm(
            services.store, services.settings, counters=prevention(services).deterrence.counters
        )
        services.extras["removal.public_form"] = form
    return form


def _page(request: Request, *, error: str = "", url: str = "", status: int = 200) -> Response:
    p = prevention(get_services(request))
    ctx = {
        **page_context(p, page_locale(request, p)),
        "challenge": _form(request).challenge(),
        "error": error,
        "url": url,
        "sent": request.query_params.get("sent") == "1",
    }
    return render(request, "removal/report_url.html", ctx, status_code=status)


@public.get("/report-url")
async def report_form(request: Request) -> Response:
    return _page(request)


@public.post("/report-url")
async def report_send(request: Request) -> Response:
    declared = ascii_int(request.headers.get("content-length"))
    if declared is not None and declared > FORM_LIMIT:
        raise InvalidInputError("the form is too large")
    form = await request.form(max_files=0, max_fields=10)
    field = {k: v for k, v in form.items() if isinstance(v, str)}
    url = field.get("url", "").strip()
    address = request.client.host if request.client else None
    svc = _form(request)
    try:
        await run_in_threadpool(
            lambda: svc.submit(
                url,
                token=field.get("token", ""),
                pow_nonce=field.get("pow", ""),
                honeypot=field.get("website", ""),
                client_address=address,
            )
        )
    except RateLimitedError:
        response = _page(
            request, error="Too many reports from this connection; please try again later.", status=429
        )
        response.headers["Retry-After"] = "3600"
        return response
    except ChallengeError as exc:
        return _page(request, error=exc.message, url=url, status=422)
    except EgressRefusedError:
        return _page(
            request,
            error="This address cannot be checked (it is not on the public internet).",
            url=url,
            status=422,
        )
    except InvalidInputError as exc:
        return _page(request, error=exc.message, url=url, status=422)
    return RedirectResponse("/report-url?sent=1", status_code=303)


@public.get("/blocked")
async def blocked(request: Request) -> Response:
    """The splash page a blocking partner shows instead of a blocked URL: the deterrence
    interstitial (its message and confidential help, in the visitor's language)."""
    return await interstitial(request)
