"""The review UI: server-rendered Jinja2 pages with htmx, sessions and CSRF."""

from fastapi import APIRouter

from ohsc.web.ui import audit, evidence, login, report_stats, reports, review

router = APIRouter()
for _module in (login, review, audit, report_stats, reports, evidence):  # stats before /reports/{id}
    router.include_router(_module.router)

__all__ = ["router"]
