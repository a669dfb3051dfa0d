"""Report pages: start a report from a confirmed review, the form (saved as edited), submit, retract."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.accounts.model import User
from ohsc.errors import ConflictError, OhscError, ReportStateError
from ohsc.reports import vocab
from ohsc.reports.from_review import draft_from_review
from ohsc.reports.service import ReportService
from ohsc.reports.tables import EDITABLE, FILED, REPORT_STATUSES, SUBMITTING
from ohsc.store.types import ascii_int
from ohsc.web.actors import user_actor
from ohsc.web.auth import ReporterUser, ReportReaderUser, ReviewerUser, get_services
from ohsc.web.reporting import report_service
from ohsc.web.services import Services
from ohsc.web.templating import render
from ohsc.web.ui.report_form import FormPatch, build_patch, group_problems, local_dt, slug

router = APIRouter(prefix="/reports", include_in_schema=False)


def _svc(request: Request, user: User) -> ReportService:
    return report_service(get_services(request), user_actor(user))


def _back(report_id: int, message: str) -> RedirectResponse:
    return RedirectResponse(f"/reports/{report_id}?" + urlencode({"msg": message}), status_code=303)


@router.get("")
async def report_list(request: Request, user: ReportReaderUser, status: str = "") -> Response:
    svc = _svc(request, user)
    flt = status if status in REPORT_STATUSES else None
    rows = await run_in_threadpool(lambda: svc.summaries(status=flt))
    return render(
        request,
        "reports/list.html",
        {
            "reports": rows,
            "status": flt or "",
            "statuses": REPORT_STATUSES,
            "message": request.query_params.get("msg"),
        },
    )


@router.post("")
async def start(
    request: Request,
    user: ReviewerUser,
    review_item_id: Annotated[int, Form()],
    report_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Start a report from a confirmed review item, or add its file to an open draft."""
    services = get_services(request)
    svc = _svc(request, user)
    target = ascii_int(report_id.strip())
    try:
        result = await run_in_threadpool(
            lambda: draft_from_review(svc, services.review, review_item_id, report_id=target)
        )
    except OhscError as exc:
        return RedirectResponse(
            f"/review/items/{review_item_id}?" + urlencode({"msg": exc.message}), status_code=303
        )
    added = "Added the file to" if target else "Started"
    return _back(result.report.id, f"{added} report {result.report.id} from review item {review_item_id}.")


def _page(services: Services, svc: ReportService, report_id: int) -> dict[str, Any]:
    result = svc.check(report_id)
    snap = result.report
    return {
        "report": snap,
        "body": snap.body,
        "problems": result.problems,
        "submissions": svc.submissions(report_id),
        "editable": snap.status in EDITABLE,
        "vocab": vocab,
        "settings": services.settings,
        "errors": {},
        "extra": {},
    }


def _helpers() -> dict[str, Any]:
    return {"slug": slug, "local_dt": local_dt, "group_problems": group_problems}


@router.get("/{report_id}")
async def report_page(report_id: int, request: Request, user: ReportReaderUser) -> Response:
    services = get_services(request)
    svc = _svc(request, user)
    ctx = await run_in_threadpool(_page, services, svc, report_id)
    can_submit = _can_submit(svc)
    blocked: list[str] = []
    if can_submit and ctx["report"].status in (SUBMITTING, FILED):
        blocked = await run_in_threadpool(svc.cannot_retract, report_id)
    ctx.update(
        _helpers(), message=request.query_params.get("msg"), can_submit=can_submit, retract_blocked=blocked
    )
    return render(request, "reports/report.html", ctx)


@router.get("/{report_id}/confirm")
async def confirm(report_id: int, request: Request, user: ReporterUser) -> Response:
    """Before submitting: who receives what, what blocks it; one button files this version."""
    svc = _svc(request, user)
    plan = await run_in_threadpool(svc.plan, report_id)
    return render(request, "reports/confirm.html", {"plan": plan, "message": request.query_params.get("msg")})


def _can_submit(svc: ReportService) -> bool:
    return bool(svc.actor.roles & set(svc._submit_roles))


def _save(svc: ReportService, report_id: int, patch: FormPatch, version: int) -> tuple[int, list[Any]]:
    result = svc.update(report_id, patch.body, expected_version=version)
    for file_id, facts in patch.files.items():
        result = svc.update_file(report_id, file_id, facts, expected_version=result.report.version)
    return result.report.version, result.problems


def _stale(report_id: int, saved: int, edited: int) -> str:
    return (
        f"report {report_id} was changed by someone else (version {saved}, you edited {edited}): "
        "your change was not saved; reload the page and apply it again"
    )


def _version(values: dict[str, str]) -> int:
    """The report version the form was made from (-1, a conflict, when it is not a number)."""
    raw = values.get("version", "") or "0"
    number = ascii_int(raw)
    return -1 if number is None else number


async def _form_pairs(request: Request) -> list[tuple[str, str]]:
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


@router.post("/{report_id}/save")
async def save(report_id: int, request: Request, user: ReviewerUser) -> Response:
    """htmx: save the whole form as edited; answers out-of-band fragments (status, errors, problems)."""
    svc = _svc(request, user)
    pairs = await _form_pairs(request)
    version = _version(dict(pairs))

    def run() -> dict[str, Any]:
        snap = svc.get(report_id)
        if snap.version != version:
            raise ConflictError(_stale(report_id, snap.version, version))
        patch = build_patch(pairs, snap)
        new_version, problems = _save(svc, report_id, patch, version)
        return {"version": new_version, "problems": problems, "errors": patch.errors, "fields": patch.fields}

    try:
        ctx = await run_in_threadpool(run)
    except (ConflictError, ReportStateError) as exc:
        return render(request, "reports/_saved.html", {"conflict": exc.message, "fields": [], "errors": {}})
    except OhscError as exc:  # the edits stay on screen, with why they were not saved (never silently)
        ctx = {"conflict": f"Not saved: {exc.message}", "fields": [], "errors": {}}
        return render(request, "reports/_saved.html", ctx)
    ctx.update(_helpers(), conflict=None)
    return render(request, "reports/_saved.html", ctx)


@router.post("/{report_id}/rows")
async def rows(report_id: int, request: Request, user: ReviewerUser) -> Response:
    """htmx: save the form, add or remove a row (account, IP event, device, file), show the form again."""
    services = get_services(request)
    svc = _svc(request, user)
    pairs = await _form_pairs(request)
    values = dict(pairs)
    version = _version(values)
    add, remove = values.get("_add", ""), values.get("_remove", "")
    pairs = [(k, v) for k, v in pairs if not k.startswith("_")]

    def run() -> dict[str, Any]:
        snap = svc.get(report_id)
        if snap.version != version:  # the edits on screen were made to an older version
            raise ConflictError(_stale(report_id, snap.version, version))
        patch = build_patch(pairs, snap)
        errors = patch.errors
        _save(svc, report_id, patch, version)
        extra: dict[str, int] = {}
        if add == "accounts":
            body = svc.get(report_id).body.model_dump(mode="json", exclude_none=True)
            svc.update(report_id, {"accounts": [*body.get("accounts", []), {"relation": "reported"}]})
        elif add:
            extra[add] = 1  # a blank row, saved once filled in
        if remove.startswith("files."):
            file_pos = ascii_int(remove.split(".")[1])
            found = [f for f in svc.get(report_id).files if f.position == file_pos]
            if found:
                svc.remove_file(report_id, found[0].id)
        elif remove:
            _remove_row(svc, report_id, remove)
        ctx = _page(services, svc, report_id)
        ctx.update(errors=errors, extra=extra)
        return ctx

    try:
        ctx = await run_in_threadpool(run)
    except OhscError as exc:
        # the form as saved, and why the change on screen was not made (never silently)
        ctx = await run_in_threadpool(_page, services, svc, report_id)
        ctx["notice"] = f"Not saved: {exc.message}"
    ctx.update(_helpers(), can_submit=_can_submit(svc))
    return render(request, "reports/_form.html", ctx)


def _remove_row(svc: ReportService, report_id: int, path: str) -> None:
    """Remove ``accounts.N`` or ``accounts.N.ip_events.M`` / ``accounts.N.device_ids.M``."""
    body = svc.get(report_id).body.model_dump(mode="json", exclude_none=True)
    parts = path.split(".")
    accounts = body.get("accounts", [])
    index = ascii_int(parts[1]) if len(parts) in (2, 4) and parts[0] == "accounts" else None
    if index is not None and len(parts) == 2:
        if index < len(accounts):
            del accounts[index]
    elif index is not None and (row := ascii_int(parts[3])) is not None:
        key = parts[2]
        if index < len(accounts) and key in ("ip_events", "device_ids"):
            items = accounts[index].get(key, [])
            if row < len(items):
                del items[row]
    svc.update(report_id, {"accounts": accounts})


@router.post("/{report_id}/submit")
async def submit(
    report_id: int,
    request: Request,
    user: ReporterUser,
    version: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """File the version confirmed on ``/confirm``; without one, show the confirmation first."""
    svc = _svc(request, user)
    confirmed = ascii_int(version.strip())
    if confirmed is None:
        snap = await run_in_threadpool(svc.get, report_id)
        if snap.status != SUBMITTING:  # resuming was confirmed when it was first submitted
            return RedirectResponse(f"/reports/{report_id}/confirm", status_code=303)
    try:
        result = await run_in_threadpool(lambda: svc.submit(report_id, expected_version=confirmed))
    except ConflictError as exc:
        return RedirectResponse(
            f"/reports/{report_id}/confirm?" + urlencode({"msg": exc.message}), status_code=303
        )
    except OhscError as exc:
        return _back(report_id, f"Not filed: {exc.message}")
    states = ", ".join(f"{x.destination}: {x.state}" for x in result.submissions)
    if result.filed:
        return _back(report_id, f"Report {report_id} filed ({states}).")
    return _back(report_id, f"Report {report_id} is {result.report.status} ({states}).")


@router.post("/{report_id}/retract")
async def retract(
    report_id: int,
    request: Request,
    user: ReporterUser,
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    svc = _svc(request, user)
    try:
        result = await run_in_threadpool(lambda: svc.retract(report_id, reason=reason))
    except OhscError as exc:
        return _back(report_id, f"Not retracted: {exc.message}")
    return _back(report_id, f"Report {report_id} is {result.report.status}.")


@router.post("/{report_id}/discard")
async def discard(report_id: int, request: Request, user: ReviewerUser) -> Response:
    svc = _svc(request, user)
    try:
        await run_in_threadpool(svc.discard, report_id)
    except OhscError as exc:
        return _back(report_id, exc.message)
    return RedirectResponse(
        "/reports?" + urlencode({"msg": f"Draft {report_id} discarded."}), status_code=303
    )
