"""The audit log for auditors and admins: events found by actor, action, subject, period and text
(:func:`ohsc.audit.search.search_events`), each described in words, and the chain's status
(:func:`ohsc.audit.verify_log`, itself audited)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ohsc import audit as audit_log
from ohsc.audit.search import AuditQuery, search_events
from ohsc.web.auth import AuditorUser, get_services
from ohsc.web.paging import decode_cursor, encode_cursor
from ohsc.web.templating import render
from ohsc.web.ui.figures import period

router = APIRouter(prefix="/audit", include_in_schema=False)
PAGE = 100
FIELDS = ("actor", "action", "subject", "q", "since", "until")


def _query(q: dict[str, str]) -> AuditQuery:
    since, until = period(q.get("since", ""), q.get("until", ""))
    return AuditQuery(
        actor=q.get("actor") or None,
        action=q.get("action") or None,
        subject=q.get("subject") or None,
        text=q.get("q") or None,
        since=since,
        until=until,
    )


@router.get("")
async def audit_page(request: Request, _user: AuditorUser) -> Response:
    services = get_services(request)
    q = {k: request.query_params.get(k, "").strip() for k in FIELDS}
    before = decode_cursor(request.query_params.get("cursor"))
    query = _query(q)
    events = await run_in_threadpool(
        lambda: search_events(services.store, query, before=before, limit=PAGE + 1)
    )
    nxt = None
    if len(events) > PAGE:
        events = events[:PAGE]
        nxt = urlencode({**{k: v for k, v in q.items() if v}, "cursor": encode_cursor(events[-1].seq)})
    return render(request, "audit.html", {"events": events, "q": q, "next_query": nxt})


@router.post("/verify")
async def verify(request: Request, user: AuditorUser) -> Response:
    services = get_services(request)

    def run() -> audit_log.VerifyResult:
        return audit_log.verify_log(services.store, user.actor)

    result = await run_in_threadpool(run)
    template = "_verify.html" if request.headers.get("hx-request") else "audit.html"
    ctx: dict[str, Any] = {"verify": result}
    if template == "audit.html":
        ctx.update({"events": [], "q": {}, "next_query": None})
    return render(request, template, ctx)
