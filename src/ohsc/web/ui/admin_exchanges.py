"""``/admin/exchanges``: exchanges this node fetches from (list, add, sync now as a background
job, reset, remove) and the banks it publishes to partners (feeds). One
:class:`~ohsc.exchanges.service.ExchangeService` or :class:`~ohsc.exchanges.feeds.FeedService`
call each (as ``ohsc exchange ...`` and ``ohsc feed ...``), audited."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ohsc.errors import InvalidInputError, OhscError
from ohsc.exchanges.feeds import FeedService
from ohsc.exchanges.kinds import get_kind, kind_names
from ohsc.exchanges.service import ExchangeService
from ohsc.store.types import ascii_int
from ohsc.web.auth import get_services
from ohsc.web.background import Jobs
from ohsc.web.ui.admin_common import AdminOnly, admin_page, back, form_fields

log = logging.getLogger(__name__)
router = APIRouter(prefix="/admin/exchanges", include_in_schema=False)
HERE = "/admin/exchanges"
#: the form's option fields (the CLI's flags); which are secret depends on the kind
OPTION_FIELDS = ("url", "bank", "public_key", "username")
SECRET_FIELDS = ("api_key", "password", "subscription_key", "fetch_key", "feedback_key")


def _exchanges(request: Request, actor: str) -> ExchangeService:
    services = get_services(request)
    return ExchangeService(services.store, services.settings, actor=actor)


def _feeds(request: Request, actor: str) -> FeedService:
    services = get_services(request)
    return FeedService(services.store, services.settings, actor=actor)


def _jobs(request: Request) -> Jobs | None:
    jobs = getattr(request.app.state, "jobs", None)
    return jobs if isinstance(jobs, Jobs) else None


def _job_name(name: str) -> str:
    return f"exchange-sync:{name}"


def _load(request: Request) -> dict[str, Any]:
    services = get_services(request)
    exchanges = _exchanges(request, "web").list_exchanges()
    jobs = _jobs(request)
    states: dict[str, str] = {}
    for info in exchanges:
        job = jobs.get(_job_name(info.name)) if jobs is not None else None
        if job is not None:
            states[info.name] = job.status().state
    feeds = _feeds(request, "web")
    return {
        "exchanges": exchanges,
        "sync_states": states,
        "kinds": kind_names(),
        "banks": services.banks("web").list_banks(),
        "grants": feeds.grants(),
        "node_key": feeds.public_key(),
    }


async def _page(request: Request, error: str = "", form: dict[str, str] | None = None) -> Response:
    ctx = await run_in_threadpool(_load, request)
    safe_form = {k: v for k, v in (form or {}).items() if k not in SECRET_FIELDS}  # never echo a secret
    ctx.update(
        {"error": error, "form": safe_form, "option_fields": OPTION_FIELDS, "secret_fields": SECRET_FIELDS}
    )
    return admin_page(request, "admin/exchanges.html", HERE, ctx, status_code=400 if error else 200)


@router.get("")
async def exchanges_page(request: Request, _user: AdminOnly) -> Response:
    return await _page(request)


def _extra(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if line.strip() and (not sep or not key.strip()):
            raise InvalidInputError(f"other options are KEY=VALUE lines, got {line.strip()[:40]!r}")
        if sep:
            out[key.strip().replace("-", "_")] = value.strip()
    return out


@router.post("")
async def add_exchange(request: Request, user: AdminOnly) -> Response:
    f = await form_fields(request)
    svc = _exchanges(request, user.actor)

    def add() -> str:
        kind = f.get("kind", "")
        cls = get_kind(kind)
        values = {k: f[k] for k in (*OPTION_FIELDS, *SECRET_FIELDS) if f.get(k)}
        values.update(_extra(f.get("extra", "")))
        secrets = {k: v for k, v in values.items() if k in cls.secret_options}
        options = {k: v for k, v in values.items() if k not in cls.secret_options}
        interval = ascii_int(f.get("interval", "") or "300")
        if interval is None:
            raise InvalidInputError("the interval is a whole number of seconds (0: by hand only)")
        info = svc.add(
            f.get("name", ""), kind, f.get("into", ""), options, secrets, interval_seconds=interval
        )
        return info.name

    try:
        name = await run_in_threadpool(add)
    except OhscError as exc:
        return await _page(request, exc.message, f)
    return back(HERE, f"Added exchange {name}.")


@router.post("/{name}/sync")
async def sync_now(name: str, request: Request, user: AdminOnly) -> Response:
    """Start a sync in a background job of this process; the page shows its state and result."""
    svc = _exchanges(request, user.actor)
    await run_in_threadpool(svc.get, name)  # 404 for an unknown exchange
    jobs = _jobs(request)
    if jobs is None:
        return back(HERE, "This server runs no background jobs: use ohsc exchange sync.")
    job_name = _job_name(name)
    running = jobs.get(job_name)
    if running is not None and running.status().state in ("waiting", "failing"):
        return back(HERE, f"A sync of {name} is already running.")
    jobs.remove(job_name)

    def run() -> None:
        try:
            svc.sync(name)
        except OhscError as exc:  # kept in last_error and the audit log by the service
            log.warning("exchange %s: sync failed: %s", name, exc.code)

    jobs.add(job_name, 0.0, run, once=True)
    return back(HERE, f"Sync of {name} started.")


@router.post("/{name}/reset")
async def reset(name: str, request: Request, user: AdminOnly) -> Response:
    await run_in_threadpool(_exchanges(request, user.actor).reset, name)
    return back(HERE, f"{name} fetches everything again at its next sync.")


@router.post("/{name}/remove")
async def remove(name: str, request: Request, user: AdminOnly) -> Response:
    await run_in_threadpool(_exchanges(request, user.actor).remove, name)
    return back(HERE, f"Removed exchange {name}; what it brought stays in the bank.")


@router.post("/feeds")
async def publish(request: Request, user: AdminOnly) -> Response:
    f = await form_fields(request)
    svc = _feeds(request, user.actor)
    try:
        grant = await run_in_threadpool(lambda: svc.publish(f.get("bank", ""), f.get("api_key", "")))
    except OhscError as exc:
        return await _page(request, exc.message)
    return back(HERE, f"Bank {grant.bank} is published to {grant.api_key}.")


@router.post("/feeds/unpublish")
async def unpublish(request: Request, user: AdminOnly) -> Response:
    f = await form_fields(request)
    svc = _feeds(request, user.actor)
    await run_in_threadpool(lambda: svc.unpublish(f.get("bank", ""), f.get("api_key", "")))
    return back(HERE, f"Bank {f.get('bank', '')} is no longer published to {f.get('api_key', '')}.")
