"""Prevention for admins: the dashboard (checks, triggers and clicks over time, breakdowns) and
the help directory editor. Roles: admin and prevention_admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import User
from ohsc.accounts.roles import Role
from ohsc.errors import OhscError
from ohsc.prevention.directory import HelpService
from ohsc.prevention.service_fields import AUDIENCES, EDITABLE
from ohsc.store.types import ascii_int
from ohsc.web.actors import user_actor
from ohsc.web.auth import get_services, require_user
from ohsc.web.prevention import Prevention, prevention
from ohsc.web.templating import render
from ohsc.web.ui.chart import line_chart

router = APIRouter(prefix="/prevention", include_in_schema=False)
PreventionAdminUser = Annotated[User, Depends(require_user(Role.PREVENTION_ADMIN))]
PERIODS = (7, 30, 90, 365)


def _p(request: Request) -> Prevention:
    return prevention(get_services(request))


@router.get("")
async def dashboard(request: Request, _user: PreventionAdminUser) -> Response:
    p = _p(request)
    days = ascii_int(request.query_params.get("days", "30")) or 30
    days = days if days in PERIODS else 30

    def load() -> dict[str, Any]:
        p.flush()
        daily = p.stats.daily(("checks", "triggers", "clicks"), days=days)
        names = {svc.id: svc.name for svc in p.directory.all(include_disabled=True)}
        return {
            "days": days,
            "periods": PERIODS,
            "daily": daily,
            "chart": line_chart(daily.days, daily.series),
            "by_list": p.stats.breakdown("triggers", "list", days=days),
            "by_locale": p.stats.breakdown("triggers", "locale", days=days),
            "checks_by_locale": p.stats.breakdown("checks", "locale", days=days),
            "clicks": [(names.get(int(k), f"#{k}"), n) for k, n in p.stats.breakdown("clicks", "resource", days=days)],
            "views": p.stats.breakdown("views", "list", days=days),
            "tips": {m: sum(p.stats.daily((m,), days=days).series[m]) for m in ("tips", "tips_discarded", "tips_rate_limited")},
        }  # fmt: skip

    return render(request, "prevention/dashboard.html", await run_in_threadpool(load))


@router.get("/directory")
async def directory(request: Request, _user: PreventionAdminUser) -> Response:
    p = _p(request)
    services = await run_in_threadpool(lambda: p.directory.all(include_disabled=True))
    return render(
        request,
        "prevention/directory_admin.html",
        {"services": services, "message": request.query_params.get("msg")},
    )


def _form_values(form: dict[str, str], audiences: list[str]) -> dict[str, object]:
    out: dict[str, object] = {
        k: form.get(k, "") for k in EDITABLE if k not in {"enabled", "priority", "audiences"}
    }
    out["audiences"] = audiences
    out["enabled"] = form.get("enabled") == "on"
    prio = form.get("priority", "").strip()
    number = ascii_int(prio)
    out["priority"] = number if number is not None else 100 if not prio else -1
    out["sources"] = [s.strip() for s in form.get("sources", "").split() if s.strip()]
    return out


def _edit_page(
    request: Request, svc: HelpService | None, values: dict[str, Any], error: str = "", status: int = 200
) -> Response:
    ctx = {"svc": svc, "v": values, "audiences": AUDIENCES, "error": error}
    return render(request, "prevention/directory_edit.html", ctx, status_code=status)


async def _read(request: Request) -> dict[str, object]:
    form = await request.form(max_files=0, max_fields=60)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    audiences = [str(a) for a in form.getlist("audiences") if isinstance(a, str)]
    return _form_values(fields, audiences)


_BLANK: dict[str, Any] = {
    "enabled": True,
    "priority": 100,
    "audiences": ["self"],
    "countries": "",
    "languages": "",
}


@router.get("/directory/new")
async def new_form(request: Request, _user: PreventionAdminUser) -> Response:
    return _edit_page(request, None, dict(_BLANK))


@router.post("/directory/new")
async def add(request: Request, user: PreventionAdminUser) -> Response:
    p = _p(request)
    values = await _read(request)
    try:
        svc = await run_in_threadpool(lambda: p.directory.add(user_actor(user), values))
    except OhscError as exc:
        return _edit_page(request, None, values, exc.message, exc.http_status)
    p.directory_changed()
    return RedirectResponse(f"/prevention/directory?msg=Added+service+{svc.id}.", status_code=303)


@router.get("/directory/{service_id}")
async def edit_form(service_id: int, request: Request, _user: PreventionAdminUser) -> Response:
    svc = await run_in_threadpool(_p(request).directory.get, service_id)
    return _edit_page(request, svc, svc.to_dict())


@router.post("/directory/{service_id}")
async def update(service_id: int, request: Request, user: PreventionAdminUser) -> Response:
    p = _p(request)
    values = await _read(request)
    svc = await run_in_threadpool(p.directory.get, service_id)
    try:
        await run_in_threadpool(lambda: p.directory.update(user_actor(user), service_id, values))
    except OhscError as exc:
        return _edit_page(request, svc, values, exc.message, exc.http_status)
    p.directory_changed()
    return RedirectResponse(f"/prevention/directory?msg=Saved+service+{service_id}.", status_code=303)


@router.post("/directory/{service_id}/remove")
async def remove(service_id: int, request: Request, user: PreventionAdminUser) -> Response:
    p = _p(request)
    await run_in_threadpool(lambda: p.directory.remove(user_actor(user), service_id))
    p.directory_changed()
    return RedirectResponse(f"/prevention/directory?msg=Removed+service+{service_id}.", status_code=303)


@router.post("/seed")
async def seed(request: Request, user: PreventionAdminUser) -> Response:
    """Add shipped services missing from the directory (never overwrites an edit)."""
    p = _p(request)
    report = await run_in_threadpool(lambda: p.directory.seed(user_actor(user)))
    p.directory_changed()
    return RedirectResponse(
        f"/prevention/directory?msg=Seeded:+{len(report.added)}+service(s)+added.", status_code=303
    )
